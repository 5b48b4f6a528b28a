import type { RedisClient } from './connection.js';
import type { QueueKeys } from './keys.js';
import { withScripts } from './scripts.js';

export interface ConsumerInfo {
  name: string;
  pending: number;
  idleMs: number;
}

export interface StreamStats {
  stream: string;
  priority: number;
  length: number;
  groups: number;
  /** Entries delivered to the group and not acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group (null when Redis cannot tell). */
  lag: number | null;
  consumers: ConsumerInfo[];
  /** Age in ms of the oldest pending entry, from its id's timestamp; null when nothing is pending. */
  oldestPendingAgeMs: number | null;
}

/** Read-only views of the streams, and the housekeeping that changes them (trim, consumer cleanup). */
export class StreamAdmin {
  constructor(private readonly deps: { redis: RedisClient; keys: QueueKeys; group: string; now?: () => number }) {}

  async stats(): Promise<StreamStats[]> {
    const now = this.deps.now?.() ?? Date.now();
    const out: StreamStats[] = [];
    for (const stream of this.deps.keys.streams()) {
      const length = await this.deps.redis.xlen(stream);
      const groups = length === 0 && !(await this.deps.redis.exists(stream)) ? [] : await this.groupInfo(stream);
      const ours = groups.find((g) => g.name === this.deps.group);
      let consumers: ConsumerInfo[] = [];
      let oldestPendingAgeMs: number | null = null;
      if (ours !== undefined) {
        const raw = (await this.deps.redis.xinfo('CONSUMERS', stream, this.deps.group)) as unknown[][];
        consumers = raw.map((c) => {
          const info = pairs(c);
          return { name: String(info.name), pending: Number(info.pending), idleMs: Number(info.idle) };
        });
        const summary = (await this.deps.redis.xpending(stream, this.deps.group)) as [number, string | null, ...unknown[]];
        if (Number(summary[0]) > 0 && summary[1] !== null) {
          oldestPendingAgeMs = Math.max(0, now - Number(summary[1].split('-')[0]));
        }
      }
      out.push({
        stream,
        priority: this.deps.keys.priorityOf(stream),
        length,
        groups: groups.length,
        pending: ours?.pending ?? 0,
        lag: ours === undefined ? length : ours.lag,
        consumers,
        oldestPendingAgeMs,
      });
    }
    return out;
  }

  /** Whether Redis takes a write on the queue's hash tag now (a capped probe stream, one entry long). */
  async probeWrite(): Promise<boolean> {
    try {
      await this.deps.redis.xadd(this.deps.keys.probe(), 'MAXLEN', '1', '*', 'ok', '1');
      return true;
    } catch {
      return false;
    }
  }

  /** Trims every stream without removing an entry that is pending or unread (see the script). */
  async trim(): Promise<number> {
    const streams = this.deps.keys.streams();
    return Number(await withScripts(this.deps.redis).vigilTrimStreams(streams.length, ...streams));
  }

  /**
   * Deletes consumers idle for at least `minIdleMs` that hold no pending entries (their entries, if any, must be
   * claimed first by autoclaim). Returns the names removed.
   */
  async removeIdleConsumers(minIdleMs: number): Promise<string[]> {
    const removed: string[] = [];
    for (const stream of this.deps.keys.streams()) {
      if (!(await this.deps.redis.exists(stream))) continue;
      let raw: unknown[][];
      try {
        raw = (await this.deps.redis.xinfo('CONSUMERS', stream, this.deps.group)) as unknown[][];
      } catch {
        continue;
      }
      for (const c of raw) {
        const info = pairs(c);
        if (Number(info.pending) === 0 && Number(info.idle) >= minIdleMs) {
          await this.deps.redis.xgroup('DELCONSUMER', stream, this.deps.group, String(info.name));
          removed.push(`${stream}/${String(info.name)}`);
        }
      }
    }
    return removed;
  }

  private async groupInfo(stream: string): Promise<{ name: string; pending: number; lag: number | null }[]> {
    const raw = (await this.deps.redis.xinfo('GROUPS', stream)) as unknown[][];
    return raw.map((g) => {
      const info = pairs(g);
      return {
        name: String(info.name),
        pending: Number(info.pending),
        lag: info.lag === null || info.lag === undefined ? null : Number(info.lag),
      };
    });
  }
}

function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}
