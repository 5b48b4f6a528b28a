import type { ClaimedSlot } from '../store/index.js';

/** A claimed slot on its way through the worker pool. */
export interface Job {
  claim: ClaimedSlot;
  /**
   * Called once the attempt's outcome is recorded in the store (stream mode acknowledges the entry here). Never
   * called for an attempt that could not be recorded: that one is left for recovery.
   */
  onRecorded?: () => Promise<void>;
}
