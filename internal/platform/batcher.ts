/**
 * Group commit: calls made while earlier ones are being written are gathered and written together, in one round
 * trip. An idle system pays no delay (a call made alone is flushed in the same turn of the event loop), and a busy
 * one pays one round trip per batch instead of one per call.
 */
export interface BatcherOptions {
  /** Most items in one write. */
  maxBatch: number;
  /** Writes in flight at once; further items wait and are gathered into the next write. */
  maxInFlight: number;
  /**
   * Whether a batch that failed with this error is written again one item at a time, so that the item at fault
   * fails alone (a constraint one row breaks, say). Errors that would fail every item alike (an outage) should
   * answer false. It may be asynchronous (to ask the database whether it is really out of reach). Default: never.
   */
  retryAlone?: (err: unknown) => boolean | Promise<boolean>;
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

  /** `write` receives a batch and returns one result per item, in order. */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // Items submitted in the same turn of the event loop (a worker pool starting many jobs) share a write.
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
      void this.flush(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  private async flush(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.writeChecked(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as O));
    } catch (err) {
      if (batch.length === 1 || (await this.retriesAlone(err)) !== true) {
        for (const p of batch) p.reject(err);
        return;
      }
      for (const p of batch) {
        try {
          const [result] = await this.writeChecked([p.item]);
          p.resolve(result as O);
        } catch (itemErr) {
          p.reject(itemErr);
        }
      }
    }
  }

  private async retriesAlone(err: unknown): Promise<boolean> {
    try {
      return (await this.options.retryAlone?.(err)) === true;
    } catch {
      return false;
    }
  }

  private async writeChecked(items: I[]): Promise<O[]> {
    const results = await this.write(items);
    if (results.length !== items.length) throw new Error(`write returned ${results.length} results for ${items.length} items`);
    return results;
  }
}
