import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, createContext, useContext, useState } from 'react';
import { TokenPrompt } from '../components/token-prompt';
import { type Info, api, errorMessage, tokenStore, unwrap } from './client';
import { keys } from './queries';

interface ServerInfo {
  info: Info;
  /** APP_UI_READ_ONLY, or a token with the `read` scope: every action is hidden. */
  readOnly: boolean;
  /** Why it is read-only, for the banner: the server's setting, or the token's scope. */
  readOnlyBecause: 'server' | 'token' | null;
  /** Whether a token is in use (and can be forgotten). */
  signedIn: boolean;
  signOut(): void;
}

const ServerInfoContext = createContext<ServerInfo | null>(null);

/** What the server told the dashboard about itself; only inside {@link ServerGate}. */
export function useServerInfo(): ServerInfo {
  const value = useContext(ServerInfoContext);
  if (value === null) throw new Error('useServerInfo outside ServerGate');
  return value;
}

/** Asks `/info` with a given token (or none), without storing it. */
export function fetchInfo(token: string | null): Promise<Info> {
  return unwrap(api.GET('/info', token === null ? {} : { headers: { Authorization: `Bearer ${token}` } }));
}

/**
 * Renders its children once the server is known and, when it requires tokens, once the token this browser holds
 * is accepted; until then it asks for one. `/info` answers whether a token works without a 401, so a wrong token
 * becomes a message here rather than an error in the console.
 */
export function ServerGate({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const [token, setToken] = useState(() => tokenStore.get());
  const info = useQuery({ queryKey: keys.info(token), queryFn: () => fetchInfo(token), refetchInterval: 15_000 });

  const signOut = () => {
    tokenStore.clear();
    setToken(null);
    client.clear();
  };

  if (info.data === undefined) {
    return (
      <main className="gate" aria-busy={info.isPending}>
        <h1>Vigil</h1>
        {info.isError ? (
          <p role="alert">
            The dashboard cannot reach the API: {errorMessage(info.error)}{' '}
            <button type="button" onClick={() => void info.refetch()}>
              Try again
            </button>
          </p>
        ) : (
          <p>Connecting to the server…</p>
        )}
      </main>
    );
  }

  const { auth } = info.data;
  if (auth.required && auth.token !== 'accepted') {
    return (
      <TokenPrompt
        rejected={token !== null && auth.token === 'rejected'}
        check={async (candidate) => (await fetchInfo(candidate)).auth.token === 'accepted'}
        onAccepted={(candidate) => {
          tokenStore.set(candidate);
          client.clear();
          setToken(candidate);
        }}
      />
    );
  }

  const readOnlyBecause = info.data.read_only ? 'server' : auth.scope === 'read' ? 'token' : null;
  const value: ServerInfo = {
    info: info.data,
    readOnly: readOnlyBecause !== null,
    readOnlyBecause,
    signedIn: token !== null && auth.required,
    signOut,
  };
  return <ServerInfoContext.Provider value={value}>{children}</ServerInfoContext.Provider>;
}
