import type { Command } from 'commander';
import { type ApiClient, createApiClient, unwrap } from './client.js';
import { parseLimit } from './args.js';
import { CliError, EXIT, usageError } from './errors.js';
import { type Io, json } from './output.js';

/** The API a command talks to when neither --url nor VIGIL_URL says otherwise. */
export const DEFAULT_URL = 'http://localhost:8081';

/** What every command gets: where to write, how to reach the API, and whether to print JSON. */
export interface Context {
  io: Io;
  /** `--json`: machine-readable output on stdout, errors as JSON on stderr. */
  json: boolean;
  /** The API client, made on first use (a command that fails on its arguments never needs one). */
  api(): ApiClient;
}

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  timeout?: string;
}

/** Builds the context of a command from the global options and the environment. */
export function contextOf(command: Command, io: Io, env: Record<string, string | undefined>): Context {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const url = opts.url ?? env.VIGIL_URL ?? DEFAULT_URL;
  const timeoutMs = opts.timeout === undefined ? 10_000 : Number(opts.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw usageError('--timeout: must be a number of seconds above 0');
  if (!/^https?:\/\/[^/]/.test(url)) throw usageError(`--url: must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
  let client: ApiClient | undefined;
  return {
    io,
    json: opts.json === true,
    api: () =>
      (client ??= createApiClient({
        url,
        token: env.VIGIL_TOKEN === '' ? undefined : env.VIGIL_TOKEN,
        timeoutMs,
        onRateLimited: (seconds) => io.stderr.write(`vigil: rate limited by the API; waiting ${seconds}s\n`),
      })),
  };
}

/**
 * A task named on the command line: a number is its id, anything else its key (looked up with `?key=`). Keys make
 * scripts independent of ids, which differ between servers.
 */
export async function resolveTaskId(ctx: Context, ref: string): Promise<number> {
  if (/^[1-9][0-9]*$/.test(ref)) return Number(ref);
  if (ref === '') throw usageError('TASK: must be a task id or key');
  const page = unwrap(await ctx.api().GET('/tasks', { params: { query: { key: ref, limit: 1 } } }), `task ${ref}`);
  const task = page.items[0];
  if (task === undefined) throw new CliError(`task ${ref}: no task has this key`, EXIT.notFound);
  return task.id;
}

/** A positive integer id argument, or a usage error naming it. */
export function parseId(value: string, name: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw usageError(`${name}: must be a positive integer (got ${JSON.stringify(value)})`);
  return Number(value);
}

/** Follows `next_cursor` until the last page (or `max` items), for `--all`. */
export async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>,
  max = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined && items.length < max);
  return items;
}

/** The options every listing takes: a page size and `--all`. */
export interface PagingOptions {
  limit: string;
  all?: boolean;
}

/** Adds `--limit` (with `defaultLimit`) and `--all` to a listing command; `noun` is what it lists, plural. */
export function pagingOptions(command: Command, noun: string, defaultLimit: number): Command {
  return command.option('--limit <n>', `${noun} per page (1-500)`, String(defaultLimit)).option('--all', 'follow every page');
}

/**
 * Prints one page of a listing (every page with `--all`): the API's JSON with `--json`, else what `render` makes of
 * the items, and a hint on stderr when more pages follow.
 */
export async function printList<T>(
  ctx: Context,
  opts: PagingOptions,
  noun: string,
  fetchPage: (query: { limit: number; cursor: string | undefined }) => Promise<{ items: T[]; next_cursor: string | null }>,
  render: (items: T[]) => string,
): Promise<void> {
  const limit = parseLimit(opts.limit);
  const page = opts.all === true ? { items: await allPages((cursor) => fetchPage({ limit, cursor })), next_cursor: null } : await fetchPage({ limit, cursor: undefined });
  if (ctx.json) return void ctx.io.stdout.write(json(page));
  ctx.io.stdout.write(render(page.items));
  if (page.next_cursor !== null) ctx.io.stderr.write(`more ${noun} follow: use --all, or a larger --limit\n`);
}
