import type { Clock } from '../platform/clock.js';
import { Batcher } from '../platform/batcher.js';
import {
  type ClaimedSlot,
  type CompletionRequest,
  type RetryPolicy,
  type SlotCompletion,
  type Store,
  isStoreError,
  retryOnBusy,
  runStartMany,
  slotCompleteMany,
} from '../store/index.js';

export interface RunStarted {
  runId: number;
  /** When the attempt started, as its run row says. */
  startedAt: Date;
}

export interface RunRecorderConfig {
  /** This process's worker id, stored on each run. */
  worker: string;
  retry: RetryPolicy;
  /** Most starts, or outcomes, written in one statement. Default 100. */
  maxBatch?: number;
}

/** What a flush answers for one item: its value, or the error that item alone failed with. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Writes run starts and outcomes with group commit: while one batch is being written, the next ones gather, so
 * that a busy pool pays a few statements per batch rather than several per run. A batch that fails for a reason
 * other than an outage is written again one item at a time, so that one bad item fails alone.
 */
export class RunRecorder {
  private readonly starts: Batcher<ClaimedSlot, Settled<RunStarted | undefined>>;
  private readonly completions: Batcher<CompletionRequest, Settled<SlotCompletion>>;

  constructor(
    private readonly deps: { store: Store; clock: Clock },
    private readonly config: RunRecorderConfig,
  ) {
    const options = { maxBatch: config.maxBatch ?? 100, maxInFlight: 2 };
    this.starts = new Batcher((claims) => this.settle(claims, (batch) => this.writeStarts(batch)), options);
    this.completions = new Batcher((items) => this.settle(items, (batch) => this.writeCompletions(batch)), options);
  }

  /**
   * Records the start of an attempt while its lease holds. Resolves undefined when the attempt must not run (the
   * lease is gone, or the attempt was started before); rejects when the store could not be reached.
   */
  async start(claim: ClaimedSlot): Promise<RunStarted | undefined> {
    return unwrap(await this.starts.submit(claim));
  }

  /** Records an attempt's outcome and moves its slot on; see `slotCompleteMany`. */
  async complete(request: CompletionRequest): Promise<SlotCompletion> {
    return unwrap(await this.completions.submit(request));
  }

  private async writeStarts(claims: ClaimedSlot[]): Promise<(RunStarted | undefined)[]> {
    const now = new Date(this.deps.clock.now());
    const started = await retryOnBusy(() => runStartMany(this.deps.store, { claims, worker: this.config.worker, now }));
    return claims.map((claim) => {
      const runId = started.get(claim);
      return runId === undefined ? undefined : { runId, startedAt: now };
    });
  }

  private writeCompletions(items: CompletionRequest[]): Promise<SlotCompletion[]> {
    const now = new Date(this.deps.clock.now());
    return retryOnBusy(() => slotCompleteMany(this.deps.store, { items, now, retry: this.config.retry }));
  }

  private async settle<I, O>(items: I[], write: (batch: I[]) => Promise<O[]>): Promise<Settled<O>[]> {
    try {
      return (await write(items)).map((value) => ({ ok: true, value }));
    } catch (error) {
      // An outage fails the whole batch alike, and each caller decides whether to try again.
      if (items.length === 1 || isStoreError(error, 'unavailable') || isStoreError(error, 'busy')) {
        return items.map(() => ({ ok: false, error }));
      }
      const settled: Settled<O>[] = [];
      for (const item of items) {
        try {
          const [value] = await write([item]);
          settled.push({ ok: true, value: value as O });
        } catch (itemError) {
          settled.push({ ok: false, error: itemError });
        }
      }
      return settled;
    }
  }
}

function unwrap<T>(settled: Settled<T>): T {
  if (!settled.ok) throw settled.error;
  return settled.value;
}
