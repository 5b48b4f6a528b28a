import type { RedisClient } from './connection.js';
import { HOST_PERMIT_ACQUIRE_SCRIPT, HOST_PERMIT_RENEW_SCRIPT } from './host-permit.script.js';
import { READ_BY_PRIORITY_SCRIPT } from './read-by-priority.script.js';
import { TRIM_STREAMS_SCRIPT } from './trim-streams.script.js';

/**
 * The Lua scripts, registered once per connection with `defineCommand`: ioredis sends each by EVALSHA and loads it
 * only when Redis does not know it yet (after a restart, or on a new cluster node), instead of sending the whole
 * script with every call.
 */
export interface ScriptCommands {
  /** read-by-priority.script.ts */
  vigilReadByPriority(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** trim-streams.script.ts */
  vigilTrimStreams(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** host-permit.script.ts */
  vigilHostPermitAcquire(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** host-permit.script.ts */
  vigilHostPermitRenew(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

const SCRIPTS: Record<keyof ScriptCommands, string> = {
  vigilReadByPriority: READ_BY_PRIORITY_SCRIPT,
  vigilTrimStreams: TRIM_STREAMS_SCRIPT,
  vigilHostPermitAcquire: HOST_PERMIT_ACQUIRE_SCRIPT,
  vigilHostPermitRenew: HOST_PERMIT_RENEW_SCRIPT,
};

/** Registers every script on the connection; returns it typed with the script commands. */
export function withScripts(redis: RedisClient): RedisClient & ScriptCommands {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, { lua });
  }
  return redis as RedisClient & ScriptCommands;
}
