/**
 * Group commit: calls made while earlier ones are being written are gathered and written together, in one round
 * trip. An idle system pays no delay (a call made alone is flushed in the same turn of the event loop), and a busy
 * one pays one round trip per batch instead of one per call.
 */
export interface BatcherOptions {
  /** Most items in one flush. */
  maxBatch: number;
  /** Flushes in flight at once; further items wait and are gathered into the next flush. */
  maxInFlight: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

export class Batcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  /**
   * `flush` receives a batch and returns one result per item, in order. When it throws, every item of that batch
   * is rejected with the error.
   */
  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // Items submitted in the same turn of the event loop (a worker pool starting many jobs) share a flush.
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      this.flush(batch.map((p) => p.item))
        .then((results) => {
          if (results.length !== batch.length) throw new Error(`flush returned ${results.length} results for ${batch.length} items`);
          batch.forEach((p, i) => p.resolve(results[i] as O));
        })
        .catch((err: unknown) => {
          for (const p of batch) p.reject(err);
        })
        .finally(() => {
          this.inFlight -= 1;
          this.drain();
        });
    }
  }
}
