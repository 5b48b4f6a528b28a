import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

/** Response and request shapes, by their OpenAPI component names. */
export type Schemas = components['schemas'];
export type Task = Schemas['Task'];
export type Run = Schemas['Run'];
export type DeadLetter = Schemas['DeadLetter'];
export type Notification = Schemas['Notification'];
export type Health = Schemas['Health'];
export type Queue = Schemas['Queue'];
export type Stats = Schemas['Stats'];
export type RunStats = Schemas['RunStats'];
export type Info = Schemas['Info'];
export type TaskCreate = Schemas['TaskCreate'];
export type TaskPatch = Schemas['TaskPatch'];
export type HttpPayload = Schemas['Payload_http'];
export type DeadLetterReason = DeadLetter['reason'];

/** What the API says when it refuses: `{"error":{"code","message","fields"}}`, and the HTTP status. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Field path (`payload.url`, `schedule.every`) → what is wrong with it. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

const TOKEN_KEY = 'vigil.token';

/** The bearer token the person entered, kept in this browser until they sign out. */
export const tokenStore = {
  get(): string | null {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    localStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    localStorage.removeItem(TOKEN_KEY);
  },
};

/**
 * Every request carries the token (when there is one) and says it comes from the dashboard, which is how a
 * read-only server (APP_UI_READ_ONLY) knows to refuse its changes.
 */
const dashboardHeaders: Middleware = {
  onRequest({ request }) {
    const token = tokenStore.get();
    // A request that brings its own token (the prompt checking a new one) keeps it.
    if (token !== null && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`);
    request.headers.set('X-Vigil-Client', 'dashboard');
    return request;
  },
};

/** The typed client: paths, parameters and bodies are checked against the API's OpenAPI document. */
export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(dashboardHeaders);

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer, or an {@link ApiRequestError} carrying the API's error body. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error ?? {}) as { error?: { code?: string; message?: string; fields?: Record<string, string> } };
  throw new ApiRequestError(
    response.status,
    body.error?.code ?? 'http_error',
    body.error?.message ?? `the server answered ${response.status} ${response.statusText}`,
    body.error?.fields ?? {},
  );
}

/** A readable sentence for any error a request can end with. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiRequestError) return error.message;
  if (error instanceof TypeError) return 'The server cannot be reached. It may be restarting; this page retries by itself.';
  return error instanceof Error ? error.message : String(error);
}
