import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';

/** A flush whose batches the test sees and releases by hand. */
function manualFlush() {
  const batches: { items: number[]; release: () => void; fail: (err: Error) => void }[] = [];
  const flush = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({ items, release: () => resolve(items.map((i) => `done ${i}`)), fail: reject });
    });
  return { batches, flush };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('writes items submitted in one turn of the event loop in one flush', async () => {
    const { batches, flush } = manualFlush();
    const batcher = new Batcher(flush, { maxBatch: 100, maxInFlight: 1 });
    const results = [1, 2, 3].map((i) => batcher.submit(i));
    await settle();
    expect(batches.map((b) => b.items)).toEqual([[1, 2, 3]]);
    batches[0]?.release();
    expect(await Promise.all(results)).toEqual(['done 1', 'done 2', 'done 3']);
  });

  it('gathers items submitted during a flush into the next one, and no more flushes than allowed run at once', async () => {
    const { batches, flush } = manualFlush();
    const batcher = new Batcher(flush, { maxBatch: 2, maxInFlight: 1 });
    const first = batcher.submit(1);
    await settle();
    const later = [2, 3, 4].map((i) => batcher.submit(i));
    await settle();
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    batches[0]?.release();
    await first;
    await settle();
    // maxBatch splits what gathered; the second part waits for the first to finish.
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3]]);
    batches[1]?.release();
    await settle();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3], [4]]);
    batches[2]?.release();
    expect(await Promise.all(later)).toEqual(['done 2', 'done 3', 'done 4']);
  });

  it('rejects every item of a failed flush with its error, and goes on with the next', async () => {
    const { batches, flush } = manualFlush();
    const batcher = new Batcher(flush, { maxBatch: 10, maxInFlight: 1 });
    const failed = [1, 2].map((i) => batcher.submit(i));
    await settle();
    batches[0]?.fail(new Error('store down'));
    for (const p of failed) await expect(p).rejects.toThrow('store down');
    const next = batcher.submit(3);
    await settle();
    batches[1]?.release();
    expect(await next).toBe('done 3');
  });

  it('rejects a flush that answers for the wrong number of items', async () => {
    const batcher = new Batcher(async (items: number[]) => items.slice(1), { maxBatch: 10, maxInFlight: 1 });
    await expect(Promise.all([batcher.submit(1), batcher.submit(2)])).rejects.toThrow('1 results for 2 items');
  });

  it('writes a failed batch again item by item when told to, so that only the item at fault fails', async () => {
    const writes: number[][] = [];
    const write = async (items: number[]) => {
      writes.push(items);
      if (items.includes(2)) throw new Error(items.length > 1 ? 'batch refused' : 'item 2 refused');
      return items.map((i) => i * 10);
    };
    const batcher = new Batcher(write, { maxBatch: 10, maxInFlight: 1, retryAlone: (err) => (err as Error).message === 'batch refused' });
    const results = await Promise.allSettled([1, 2, 3].map((i) => batcher.submit(i)));
    expect(writes).toEqual([[1, 2, 3], [1], [2], [3]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 'item 2 refused', 30]);
  });

  it('does not split a batch that failed with an error every item would meet', async () => {
    const writes: number[][] = [];
    const batcher = new Batcher(
      async (items: number[]) => {
        writes.push(items);
        throw new Error('store down');
      },
      { maxBatch: 10, maxInFlight: 1, retryAlone: () => false },
    );
    const results = await Promise.allSettled([1, 2].map((i) => batcher.submit(i)));
    expect(writes).toEqual([[1, 2]]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
  });
});
