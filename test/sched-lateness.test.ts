import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SchedFixture, SCHED_MODES, createSchedFixture, insertTasks, runsOfTask } from './support/sched-fixture.js';
import { waitFor } from './support/services.js';

/**
 * A slot starts close to its time even when the tick is long: the publisher (stream mode) and the poller (polling
 * mode) wake for the next slot due before their next tick. With a 3 s tick and slots spread over 3 s, waiting for
 * the tick would make most of them start up to 3 s late.
 */

const TICK = '3s';
const OFFSETS_MS = [1500, 2000, 2500, 3000, 3500, 4000];
const MAX_LATENESS_MS = 400;

describe.each(SCHED_MODES)('lateness with a long tick (%s mode)', (mode) => {
  let fx: SchedFixture;

  beforeAll(async () => {
    fx = await createSchedFixture(`lateness_${mode}`);
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it(`starts every slot within ${MAX_LATENESS_MS} ms of its time, though the tick is ${TICK}`, async () => {
    const base = Date.now();
    const ids: number[] = [];
    for (const [i, offset] of OFFSETS_MS.entries()) {
      ids.push(
        ...(await insertTasks(fx.store, { count: 1, namePrefix: `late-${mode}-${i}`, type: 'noop', every: 3600, dueAt: new Date(base + offset) })),
      );
    }
    await fx.startApp(mode, { env: { APP_SCHEDULE_INTERVAL: TICK } });

    const runs = await waitFor(
      async () => {
        const all = await Promise.all(ids.map((id) => runsOfTask(fx.store, id)));
        return all.every((r) => r.length > 0) ? all.map((r) => r[0]) : undefined;
      },
      { timeoutMs: 15_000, message: 'every slot to start' },
    );
    const lateness = runs.map((run) => new Date(run?.started_at as Date).getTime() - new Date(run?.slot as Date).getTime());
    expect(lateness.every((ms) => ms >= 0)).toBe(true);
    expect(Math.max(...lateness)).toBeLessThanOrEqual(MAX_LATENESS_MS);
  });
});
