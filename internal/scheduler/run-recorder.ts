import { type BackoffPolicy, backoffDelay } from '../platform/backoff.js';
import { Batcher } from '../platform/batcher.js';
import type { Clock } from '../platform/clock.js';
import {
  type ClaimedSlot,
  type CompletionRequest,
  type JsonObject,
  type SlotCompletion,
  type Store,
  isStoreOutageConfirmed,
  retryOnBusy,
  runStartWithMemory,
  slotCompleteMany,
} from '../store/index.js';

export interface RunStarted {
  runId: number;
  /** When the attempt started, as its run row says. */
  startedAt: Date;
  /** What the task's handler kept from its last run (read with the start), null when nothing. */
  memory: JsonObject | null;
}

export interface RunRecorderConfig {
  /** This process's worker id, stored on each run. */
  workerId: string;
  /**
   * The retry policy: a failed attempt's slot waits APP_RETRY_BASE_DELAY before the next attempt, doubling with
   * each further attempt up to APP_RETRY_MAX_DELAY, with half of each delay random ("equal jitter").
   */
  retry: BackoffPolicy;
  /** Most starts, or outcomes, written in one statement. Default 100. */
  maxBatch?: number;
  /** Cap on a run's output and on notification bodies, in bytes of JSON (APP_MAX_OUTPUT_BYTES). Default 256 KiB. */
  maxOutputBytes?: number;
}

/**
 * Writes run starts and outcomes with group commit: while one batch is being written, the next ones gather, so
 * that a busy pool pays a few statements per batch rather than several per run. A batch that fails for a reason
 * other than an outage is written again one item at a time, so that one bad item fails alone. A connection error
 * is an outage only when the database does not answer a ping on another connection: MariaDB closes the connection
 * of a statement over `max_allowed_packet`, and that must fail its own item, not every item of the batch.
 */
export class RunRecorder {
  private readonly starts: Batcher<ClaimedSlot, RunStarted | undefined>;
  private readonly completions: Batcher<CompletionRequest, SlotCompletion>;

  constructor(
    private readonly deps: { store: Store; clock: Clock },
    private readonly config: RunRecorderConfig,
  ) {
    const options = {
      maxBatch: config.maxBatch ?? 100,
      maxInFlight: 2,
      retryAlone: async (err: unknown) => !(await isStoreOutageConfirmed(deps.store, err)),
    };
    this.starts = new Batcher((claims) => this.writeStarts(claims), options);
    this.completions = new Batcher((items) => this.writeCompletions(items), options);
  }

  /**
   * Records the start of an attempt while its lease holds. Resolves undefined when the attempt must not run (its
   * lease is gone); rejects when the store could not be reached.
   */
  start(claim: ClaimedSlot): Promise<RunStarted | undefined> {
    return this.starts.submit(claim);
  }

  /** Records an attempt's outcome and moves its slot on; see `slotCompleteMany`. */
  complete(request: CompletionRequest): Promise<SlotCompletion> {
    return this.completions.submit(request);
  }

  private async writeStarts(claims: ClaimedSlot[]): Promise<(RunStarted | undefined)[]> {
    const now = new Date(this.deps.clock.now());
    const started = await retryOnBusy(() => runStartWithMemory(this.deps.store, { claims, workerId: this.config.workerId, now }));
    return claims.map((claim) => {
      const run = started.get(claim);
      return run === undefined ? undefined : { runId: run.runId, startedAt: now, memory: run.memory };
    });
  }

  private writeCompletions(items: CompletionRequest[]): Promise<SlotCompletion[]> {
    const now = new Date(this.deps.clock.now());
    return retryOnBusy(() =>
      slotCompleteMany(this.deps.store, {
        items,
        now,
        retryDelayMs: (attempt) => backoffDelay(attempt, this.config.retry),
        ...(this.config.maxOutputBytes === undefined ? {} : { maxOutputBytes: this.config.maxOutputBytes }),
      }),
    );
  }
}
