import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './api-schema.js';
import { type ApiErrorBody, CliError, EXIT, exitCodeForStatus } from './errors.js';

/** Types of the API's JSON, generated from `/openapi.json` (npm run gen:api:cli). */
export type Schemas = components['schemas'];
export type Task = Schemas['Task'];
export type TaskSpec = Schemas['TaskSpec'];
export type TaskCreate = Schemas['TaskCreate'];
export type TaskPatch = Schemas['TaskPatch'];
export type Run = Schemas['Run'];
export type DeadLetter = Schemas['DeadLetter'];
export type Queue = Schemas['Queue'];
export type Channel = Schemas['Channel'];
export type ChannelCreate = Schemas['ChannelCreate'];
export type ChannelPatch = Schemas['ChannelPatch'];
export type ApiClient = Client<paths>;

export interface ClientOptions {
  /** The API's base URL, such as `http://localhost:8081`. */
  url: string;
  /** Bearer token (VIGIL_TOKEN); undefined sends none. */
  token: string | undefined;
  /** Milliseconds to wait for one answer. */
  timeoutMs: number;
  /** How often a 429 is waited out (for the seconds its Retry-After says) before giving up. Default 5. */
  maxRateLimitRetries?: number;
  /** Called before waiting out a 429, so that the user knows why the command pauses. */
  onRateLimited?: (seconds: number) => void;
}

/**
 * The typed HTTP client of the `vigil` command (openapi-fetch over the generated types). It talks to the API only
 * through its public routes. A 429 is waited out and retried, so that a long apply under the server's rate limit
 * slows down instead of failing.
 */
export function createApiClient(options: ClientOptions): ApiClient {
  const maxRetries = options.maxRateLimitRetries ?? 5;
  return createClient<paths>({
    baseUrl: options.url.replace(/\/+$/, ''),
    headers: {
      accept: 'application/json',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    },
    fetch: async (request: Request) => {
      for (let attempt = 0; ; attempt += 1) {
        // The body can be read once; keep a copy for a retry.
        const sent = request.clone();
        let response: Response;
        try {
          response = await fetch(sent, { signal: AbortSignal.timeout(options.timeoutMs) });
        } catch (err) {
          throw unreachable(options.url, err);
        }
        if (response.status !== 429 || attempt >= maxRetries) return response;
        const seconds = retryAfterSeconds(response.headers.get('retry-after'));
        await response.body?.cancel();
        options.onRateLimited?.(seconds);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      }
    },
  });
}

/**
 * The data of an openapi-fetch result, or a CliError carrying the API's error body and the exit code its status
 * maps to. `what` names the request in messages ("task 42", "dead letter 3").
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  const { response } = result;
  if (response.ok) return result.data as T;
  const error = errorBodyOf(result.error, response);
  return failWith(response.status, error, what);
}

function failWith(status: number, error: ApiErrorBody, what: string): never {
  const message = status === 404 ? `${what}: ${error.message}` : `${what}: ${error.message} (HTTP ${status} ${error.code})`;
  throw new CliError(message, exitCodeForStatus(status), { status, error });
}

function errorBodyOf(body: unknown, response: Response): ApiErrorBody {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (error !== null && typeof error === 'object' && typeof (error as ApiErrorBody).code === 'string') {
    const e = error as ApiErrorBody;
    return { code: e.code, message: String(e.message), ...(e.fields === undefined ? {} : { fields: e.fields }) };
  }
  // Not one of the API's errors: a proxy's page, or another server at that address.
  return { code: `http_${response.status}`, message: response.statusText || 'unexpected answer' };
}

function retryAfterSeconds(header: string | null): number {
  const seconds = header === null ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(Math.ceil(seconds), 60) : 1;
}

function unreachable(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const isTimeout = err instanceof DOMException && err.name === 'TimeoutError';
  const reason = isTimeout ? 'no answer in time' : (cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
  return new CliError(`cannot reach the Vigil API at ${safeUrl(url)} (${reason}); set --url or VIGIL_URL`, EXIT.unreachable);
}

/** The URL without any user:password part, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
