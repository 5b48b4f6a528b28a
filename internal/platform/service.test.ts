import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from './backoff.js';
import { silentLogger } from './logger.js';
import { LoopService, TickingService } from './service.js';
import { TimeoutError, withTimeout } from './timeout.js';

class Counter extends TickingService {
  ticks = 0;
  constructor(intervalMs: number) {
    super('counter', silentLogger(), { intervalMs });
  }
  async runOnce(): Promise<number> {
    this.ticks += 1;
    return this.ticks;
  }
}

/** Fails its first `failures` steps, then records the waits it was given. */
class Flaky extends LoopService {
  steps = 0;
  readonly failedAt: number[] = [];
  constructor(private failures: number) {
    super('flaky', silentLogger(), { baseMs: 5, maxMs: 20, jitter: 'none' });
  }
  async runOnce(): Promise<void> {
    this.steps += 1;
  }
  protected async step(): Promise<number> {
    await this.runOnce();
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('boom');
    }
    return 1000;
  }
  protected override onStepFailed(_err: unknown, failures: number): void {
    this.failedAt.push(failures);
  }
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('background services', () => {
  it('tick until stopped; start and stop are idempotent, and a stopped service starts again', async () => {
    const counter = new Counter(10);
    await Promise.all([counter.start(), counter.start()]);
    expect(counter.isRunning).toBe(true);
    await until(() => counter.ticks >= 2);
    await Promise.all([counter.stop(), counter.stop()]);
    expect(counter.isRunning).toBe(false);
    const after = counter.ticks;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(counter.ticks).toBe(after);
    await counter.start();
    await until(() => counter.ticks > after);
    await counter.stop();
  });

  it('a stop before any start does nothing', async () => {
    await new Counter(10).stop();
  });

  it('loop: a failing step is retried after the backoff, which starts over after a success', async () => {
    const flaky = new Flaky(3);
    await flaky.start();
    await until(() => flaky.steps >= 4);
    await flaky.stop();
    expect(flaky.failedAt).toEqual([1, 2, 3]);
  });
});

describe('backoff', () => {
  it('doubles from the base up to the cap, with equal jitter by default', () => {
    const fixed = { baseMs: 100, maxMs: 1000, jitter: 'none' as const };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, fixed))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1000, random: () => 0 })).toBe(200);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1000, random: () => 0.999999 })).toBe(400);
    const b = new Backoff(fixed);
    expect([b.next(), b.next(), b.failures]).toEqual([100, 200, 2]);
    b.reset();
    expect(b.next()).toBe(100);
  });
});

describe('withTimeout', () => {
  it('settles like the promise when it is in time, and rejects at the deadline otherwise', async () => {
    expect(await withTimeout(Promise.resolve(7), 50, 'late')).toBe(7);
    await expect(withTimeout(new Promise(() => undefined), 10, 'late')).rejects.toBeInstanceOf(TimeoutError);
    await expect(withTimeout(new Promise(() => undefined), 10, () => new RangeError('mine'))).rejects.toBeInstanceOf(RangeError);
  });
});
