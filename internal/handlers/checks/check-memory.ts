import { z } from 'zod';
import { MAX_SEEN_IDS } from '../items/new-items.js';

/**
 * What one `http` or `browser` task remembers between runs: the state after its last successful run (an attempt
 * that resolved, whether the target was up or down). Stored as JSON by the store and handed to the next run.
 */
export interface CheckMemory {
  /** `content_hash` of the last body seen while the target was up. */
  hash?: string;
  /** Whether the target was up; absent before the first run. */
  up?: boolean;
  /** Item ids seen, most recent first, at most 5,000; absent until the items were first read (the baseline). */
  seen_ids?: string[];
  /** SHA-256 fingerprint of the last certificate `cert_expiring` was sent for, so that it is sent once per certificate. */
  cert_reported?: string;
}

/** Validates a stored memory. Unknown keys are ignored, so older or newer processes can share a store. */
export const checkMemorySchema = z.object({
  hash: z.string().optional(),
  up: z.boolean().optional(),
  seen_ids: z.array(z.string()).max(MAX_SEEN_IDS).optional(),
  cert_reported: z.string().max(200).optional(),
});

/**
 * A stored memory as {@link CheckMemory}, or null when there is none or it is unreadable. Unreadable memory is
 * treated as none (the next run is a baseline) rather than failing every run of the task forever.
 */
export function parseCheckMemory(value: unknown): CheckMemory | null {
  if (value === null || value === undefined) return null;
  const parsed = checkMemorySchema.safeParse(value);
  if (!parsed.success) return null;
  const memory: CheckMemory = {};
  if (parsed.data.hash !== undefined) memory.hash = parsed.data.hash;
  if (parsed.data.up !== undefined) memory.up = parsed.data.up;
  if (parsed.data.seen_ids !== undefined) memory.seen_ids = parsed.data.seen_ids;
  if (parsed.data.cert_reported !== undefined) memory.cert_reported = parsed.data.cert_reported;
  return memory;
}

/** The parts of the previous memory that a run keeps unless it replaces them (everything but `up`). */
export function carriedMemory(memory: CheckMemory | null): CheckMemory {
  const kept: CheckMemory = {};
  if (memory?.hash !== undefined) kept.hash = memory.hash;
  if (memory?.seen_ids !== undefined) kept.seen_ids = memory.seen_ids;
  if (memory?.cert_reported !== undefined) kept.cert_reported = memory.cert_reported;
  return kept;
}
