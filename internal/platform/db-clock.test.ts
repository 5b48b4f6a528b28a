import { describe, expect, it } from 'vitest';
import { DbClock } from './db-clock.js';
import { silentLogger } from './logger.js';

describe('DbClock', () => {
  const logger = silentLogger();

  it("is the process's clock until measured, then the database's, whatever the host's clock says", async () => {
    const skewMs = 25_000;
    const clock = new DbClock({ sample: async () => Date.now() + skewMs, logger });
    expect(clock.synced).toBe(false);
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(50);
    await clock.runOnce();
    expect(clock.synced).toBe(true);
    expect(Math.abs(clock.now() - (Date.now() + skewMs))).toBeLessThan(50);
    expect(Math.abs((clock.offsetMs ?? 0) - skewMs)).toBeLessThan(50);
  });

  it('keeps the fastest of several round trips, read at its midpoint', async () => {
    const delays = [40, 2, 30];
    let i = 0;
    const clock = new DbClock(
      {
        sample: async () => {
          const wait = delays[i++ % delays.length] ?? 0;
          // The database answers halfway through the round trip.
          await new Promise((resolve) => setTimeout(resolve, wait / 2));
          const at = Date.now() - 10_000;
          await new Promise((resolve) => setTimeout(resolve, wait / 2));
          return at;
        },
        logger,
      },
      { samples: 3 },
    );
    await clock.runOnce();
    expect(Math.abs(clock.now() - (Date.now() - 10_000))).toBeLessThan(15);
  });

  it('gives up waiting at start after the timeout when the database does not answer, and keeps its own clock', async () => {
    const clock = new DbClock({ sample: () => Promise.reject(new Error('down')), logger }, { retryMs: 20 });
    const started = performance.now();
    await clock.syncAtStart(100);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(clock.synced).toBe(false);
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(50);
  });
});
