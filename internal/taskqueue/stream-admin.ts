import type { RedisClient } from './connection.js';
import type { QueueKeys } from './keys.js';
import { withScripts } from './scripts.js';

export interface ConsumerInfo {
  name: string;
  pending: number;
  idleMs: number;
}

/** A consumer group other than this process's on the same stream, and how far it holds the stream from trimming. */
export interface ForeignGroupStats {
  name: string;
  consumers: number;
  pending: number;
  lag: number | null;
  /** Milliseconds since its most recently active consumer was active; null when it has no consumer. */
  idleMs: number | null;
  /** False when trimming ignores it: all its consumers have been silent longer than the trim's idle limit. */
  holdsTrim: boolean;
  /** The oldest entry it still needs (pending, or not yet read): trimming keeps it and everything after it. */
  holdsFromId: string;
  /** Age in ms of that entry, from its id's timestamp. */
  holdsFromAgeMs: number;
}

/** How trimming treats groups other than this process's, and streams no group reads (see trim-streams.script.ts). */
export interface TrimOptions {
  /** Another group whose consumers have all been idle this long is ignored. Default 1 hour. */
  foreignIdleMs?: number;
  /** Most entries kept for other groups, or for no group at all. Default {@link TRIM_KEEP_FOR_OTHERS}. */
  keepForOthers?: number;
}

/** Entries kept for groups other than this process's, or in a stream no group reads, by default. */
export const TRIM_KEEP_FOR_OTHERS = 10_000;
/** Another group whose consumers have all been silent this long is ignored by trimming, by default. */
export const TRIM_FOREIGN_IDLE_MS = 3_600_000;

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
  /** Groups other than this process's, and how far each holds the stream. */
  foreignGroups: ForeignGroupStats[];
}

/** Read-only views of the streams, and the housekeeping that changes them (trim, consumer cleanup). */
export class StreamAdmin {
  constructor(
    private readonly deps: { redis: RedisClient; keys: QueueKeys; group: string; now?: () => number; trim?: TrimOptions },
  ) {}

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
      const foreignGroups: ForeignGroupStats[] = [];
      for (const group of groups) {
        if (group.name !== this.deps.group) foreignGroups.push(await this.foreignGroup(stream, group, now));
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
        foreignGroups,
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

  /**
   * Trims every stream without removing an entry this group has pending or has not read; other groups hold it only
   * while alive, and only up to a length bound, which also bounds a stream no group reads (see the script).
   */
  async trim(): Promise<number> {
    const streams = this.deps.keys.streams();
    const { foreignIdleMs, keepForOthers } = this.trimOptions();
    return Number(
      await withScripts(this.deps.redis).vigilTrimStreams(
        streams.length,
        ...streams,
        this.deps.group,
        String(foreignIdleMs),
        String(keepForOthers),
        '10000',
      ),
    );
  }

  private trimOptions(): Required<TrimOptions> {
    return {
      foreignIdleMs: this.deps.trim?.foreignIdleMs ?? TRIM_FOREIGN_IDLE_MS,
      keepForOthers: this.deps.trim?.keepForOthers ?? TRIM_KEEP_FOR_OTHERS,
    };
  }

  private async foreignGroup(
    stream: string,
    group: { name: string; pending: number; lag: number | null; lastDeliveredId: string },
    now: number,
  ): Promise<ForeignGroupStats> {
    const raw = (await this.deps.redis.xinfo('CONSUMERS', stream, group.name)) as unknown[][];
    const idles = raw.map((c) => Number(pairs(c).idle));
    const idleMs = idles.length === 0 ? null : Math.min(...idles);
    let holdsFromId: string;
    const summary = (await this.deps.redis.xpending(stream, group.name)) as [number, string | null, ...unknown[]];
    if (Number(summary[0]) > 0 && summary[1] !== null) {
      holdsFromId = summary[1];
    } else {
      const [ms, seq] = group.lastDeliveredId.split('-');
      holdsFromId = `${ms ?? '0'}-${Number(seq ?? 0) + 1}`;
    }
    return {
      name: group.name,
      consumers: raw.length,
      pending: group.pending,
      lag: group.lag,
      idleMs,
      holdsTrim: idleMs === null || idleMs < this.trimOptions().foreignIdleMs,
      holdsFromId,
      holdsFromAgeMs: Math.max(0, now - Number(holdsFromId.split('-')[0])),
    };
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

  private async groupInfo(stream: string): Promise<{ name: string; pending: number; lag: number | null; lastDeliveredId: string }[]> {
    const raw = (await this.deps.redis.xinfo('GROUPS', stream)) as unknown[][];
    return raw.map((g) => {
      const info = pairs(g);
      return {
        name: String(info.name),
        pending: Number(info.pending),
        lastDeliveredId: String(info['last-delivered-id'] ?? '0-0'),
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
