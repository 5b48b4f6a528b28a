import { z } from 'zod';
import { closedObject } from './schema-helpers.js';

/**
 * Politeness per host: what a task type says about the host its runs send requests to, so that the scheduler can
 * hold a run back while that host has its fill of requests (`APP_HOST_CONCURRENCY`, `APP_HOST_RATE`, or the task's
 * own `host_limit`), across every process.
 */

/** The host a run requests, and the task's own limits for it when its payload sets them. */
export interface RunTarget {
  /** The URL's host name, lower case, with its port when it has one (`shop.example`, `127.0.0.1:8080`). */
  host: string;
  /** Requests in flight at once to the host, instead of `APP_HOST_CONCURRENCY`. */
  concurrency?: number | undefined;
  /** Requests started per window, instead of `APP_HOST_RATE`. */
  rate?: { count: number; perMs: number } | undefined;
}

const RATE = /^(\d{1,6})\s*\/\s*(s|m|h)$/;

/** A payload's `host_limit`: this task's own limits for its host. */
export const hostLimitSchema = closedObject({
  concurrency: z
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(1000, { error: 'must be at most 1000' })
    .optional()
    .meta({ description: "Requests in flight at once to this task's host, across every process, instead of APP_HOST_CONCURRENCY." }),
  rate: z
    .string({ error: 'must be a string such as 2/s or 30/m' })
    .regex(RATE, { error: 'must look like 2/s, 30/m or 100/h' })
    .refine((text) => Number(RATE.exec(text)?.[1] ?? 0) >= 1, { error: 'must allow at least 1 request' })
    .optional()
    .meta({ description: "Requests started per second, minute or hour to this task's host, across every process, instead of APP_HOST_RATE.", examples: ['1/s'] }),
}).meta({
  description:
    "This task's own politeness limits for its host, instead of APP_HOST_CONCURRENCY and APP_HOST_RATE; each run checks the limits of its own task against the requests every process has in flight to the host.",
});

export type HostLimitInput = z.output<typeof hostLimitSchema>;

/** The target of a payload with a `url` and an optional `host_limit`; undefined when the URL does not parse. */
export function runTargetOf(url: string, limit: HostLimitInput | undefined): RunTarget | undefined {
  const host = hostOf(url);
  if (host === undefined) return undefined;
  const rate = limit?.rate === undefined ? undefined : RATE.exec(limit.rate);
  return {
    host,
    ...(limit?.concurrency === undefined ? {} : { concurrency: limit.concurrency }),
    ...(rate === null || rate === undefined
      ? {}
      : { rate: { count: Number(rate[1]), perMs: rate[2] === 's' ? 1000 : rate[2] === 'm' ? 60_000 : 3_600_000 } }),
  };
}

/** The host (and port, when the URL names one) that politeness counts requests to; undefined for a bad URL. */
export function hostOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.host === '' ? undefined : parsed.host.toLowerCase();
  } catch {
    return undefined;
  }
}
