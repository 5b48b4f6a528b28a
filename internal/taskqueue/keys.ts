/** Priorities 1 (lowest) to 5 (highest); each has its own stream so that readers can take the highest first. */
export const PRIORITIES = [5, 4, 3, 2, 1] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Every key Vigil uses in Redis. They share one hash tag (the configured stream name in braces), so the queue
 * runs on Redis Cluster too: scripts may touch several of them.
 */
export class QueueKeys {
  readonly tag: string;

  constructor(stream: string) {
    this.tag = /\{[^}]+\}/.test(stream) ? stream : `{${stream}}`;
  }

  /** The stream of one priority, for example `{vigil:task:queue}:p5`. */
  stream(priority: number): string {
    return `${this.tag}:p${clampPriority(priority)}`;
  }

  /** All streams, highest priority first. */
  streams(): string[] {
    return PRIORITIES.map((p) => this.stream(p));
  }

  /** A one-entry stream that health probes write to, to learn whether Redis takes writes. */
  probe(): string {
    return `${this.tag}:probe`;
  }

  /** The prefix of the API rate limiter's counters, for example `{vigil:task:queue}:ratelimit`. */
  rateLimitPrefix(): string {
    return `${this.tag}:ratelimit`;
  }

  /**
   * The sets of permits of one target host (politeness): requests in flight (`run`) and started within the rate's
   * window (`rate`), for example `{vigil:task:queue}:host:shop.example:run`.
   */
  hostPermits(host: string): { run: string; rate: string } {
    const base = `${this.tag}:host:${host}`;
    return { run: `${base}:run`, rate: `${base}:rate` };
  }

  /** The priority a stream key belongs to. */
  priorityOf(streamKey: string): number {
    const match = /:p([1-5])$/.exec(streamKey);
    return match === null ? 3 : Number(match[1]);
  }
}

function clampPriority(priority: number): Priority {
  return Math.min(5, Math.max(1, Math.round(priority))) as Priority;
}
