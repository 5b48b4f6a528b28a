import { type FormEvent, useId, useState } from 'react';
import { errorMessage } from '../api/client';

interface TokenPromptProps {
  /** The token this browser held was refused (revoked, or mistyped earlier). */
  rejected: boolean;
  /** Whether the server accepts a token. */
  check(token: string): Promise<boolean>;
  onAccepted(token: string): void;
}

/** Asks for an API token (one of APP_API_TOKENS) and checks it before keeping it. */
export function TokenPrompt({ rejected, check, onAccepted }: TokenPromptProps) {
  const inputId = useId();
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | null>(
    rejected ? 'The token this browser had is no longer accepted. Enter a current one.' : null,
  );
  const [checking, setChecking] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = token.trim();
    if (candidate === '') {
      setProblem('Enter a token.');
      return;
    }
    setChecking(true);
    try {
      if (await check(candidate)) onAccepted(candidate);
      else setProblem('That token was not accepted. Check it against the server’s APP_API_TOKENS and try again.');
    } catch (err) {
      setProblem(errorMessage(err));
    } finally {
      setChecking(false);
    }
  };

  return (
    <main className="gate">
      <h1>Vigil</h1>
      <form className="card token-form" onSubmit={(e) => void submit(e)} aria-describedby={`${inputId}-help`}>
        <h2>Sign in with an API token</h2>
        <p id={`${inputId}-help`}>
          This server requires a bearer token (APP_API_TOKENS). It is kept in this browser until you sign out.
        </p>
        <label htmlFor={inputId}>API token</label>
        <input
          id={inputId}
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={problem !== null}
          aria-errormessage={problem === null ? undefined : `${inputId}-error`}
          autoFocus
        />
        {problem !== null && (
          <p id={`${inputId}-error`} className="field-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
