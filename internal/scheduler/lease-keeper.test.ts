import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../platform/clock.js';
import { type ClaimedSlot, type Store, slotClaimDue } from '../store/index.js';
import { LeaseKeeper } from './lease-keeper.js';
import { insertTask, memoryStore, quiet, useMemoryStore } from './test-support.js';
import { LeaseLostError, WorkerPool } from './worker-pool.js';

describe('LeaseKeeper', () => {
  const clock = new ManualClock();
  const leaseMs = 9000;

  const db = useMemoryStore();

  /** A pool whose jobs run until aborted, holding the claims of `type`. */
  async function holding(type: string, count: number, at = clock.now(), lease = leaseMs) {
    for (let i = 0; i < count; i += 1) await insertTask(db.store, new Date(at), { type });
    const claims = await slotClaimDue(db.store, {
      workerId: 'me:1',
      leaseToken: `lease-${type}`,
      leaseMs: lease,
      now: new Date(at),
      typePatterns: [type],
      limit: count,
      channel: 'poll',
    });
    const signals = new Map<ClaimedSlot, AbortSignal>();
    const abortedAt = new Map<ClaimedSlot, number>();
    const pool = new WorkerPool(
      {
        runner: {
          execute: (job, signal) =>
            new Promise<void>((resolve) => {
              signals.set(job.claim, signal);
              signal.addEventListener(
                'abort',
                () => {
                  abortedAt.set(job.claim, Date.now());
                  resolve();
                },
                { once: true },
              );
            }),
        },
        releaseClaims: async () => undefined,
        ...quiet,
      },
      { size: count, capacity: 0, shutdownTimeoutMs: 10 },
    );
    await pool.offerAll(claims.map((claim) => ({ claim })));
    return { pool, claims, signals, abortedAt };
  }

  const expiry = async (claim: ClaimedSlot) =>
    new Date(
      (await db.store.db.selectFrom('tasks').select('lease_expires_at').where('id', '=', claim.task.id).executeTakeFirstOrThrow())
        .lease_expires_at as unknown as string,
    ).getTime();

  it('extends the leases of every claim the pool holds', async () => {
    const { pool, claims } = await holding('keep_extend', 2);
    const keeper = new LeaseKeeper({ store: db.store, pool, clock, logger: quiet.logger }, { workerId: 'me:1', leaseMs });
    clock.advance(3000);
    await keeper.runOnce();
    for (const claim of claims) expect(await expiry(claim)).toBe(clock.now() + leaseMs);
    await pool.stop();
  });

  it('stops the run of a lease another process took over, and only that one', async () => {
    const { pool, claims, signals } = await holding('keep_lost', 2);
    const [lost, kept] = claims as [ClaimedSlot, ClaimedSlot];
    await db.store.db.updateTable('tasks').set({ lease_token: 'recovered-elsewhere', lease_owner: 'other:2' }).where('id', '=', lost.task.id).execute();
    await new LeaseKeeper({ store: db.store, pool, clock, logger: quiet.logger }, { workerId: 'me:1', leaseMs }).runOnce();
    expect(signals.get(lost)?.reason).toBeInstanceOf(LeaseLostError);
    expect(signals.get(kept)?.aborted).toBe(false);
    await pool.stop();
  });

  it('aborts running handlers one heartbeat before the leases run out while the db.store cannot be reached', async () => {
    const { pool, signals } = await holding('keep_outage', 1);
    const broken = await memoryStore();
    await broken.close();
    const keeper = new LeaseKeeper({ store: broken, pool, clock, logger: quiet.logger }, { workerId: 'me:1', leaseMs });
    await keeper.start();
    // Two heartbeats fail: still a heartbeat of margin left, so nothing is aborted yet.
    clock.advance(3000);
    await keeper.runOnce();
    expect([...signals.values()].some((s) => s.aborted)).toBe(false);
    // Two heartbeats after the last success, the next one would be too late: abort now.
    clock.advance(3000);
    await keeper.runOnce();
    expect([...signals.values()].every((s) => s.reason instanceof LeaseLostError)).toBe(true);
    await keeper.stop();
    await pool.stop();
  });

  it('aborts one heartbeat before the lease expires even when every heartbeat hangs (real time)', async () => {
    // Leases of 900 ms, heartbeats every 300 ms: the abort is due 600 ms after the claim, and must come before 900.
    const lease = 900;
    const heartbeat = lease / 3;
    const { pool, claims, abortedAt } = await holding('keep_hang', 1, Date.now(), lease);
    const [claim] = claims as [ClaimedSlot];
    // A store that never answers: each heartbeat waits for its timeout, and ticks come late behind it.
    const never: unknown = new Proxy(() => undefined, {
      get: (_target, prop) => (prop === 'execute' ? () => new Promise(() => undefined) : () => never),
      apply: () => never,
    });
    const hanging = { ...db.store, db: { updateTable: () => never, selectFrom: () => never } } as unknown as Store;
    const keeper = new LeaseKeeper({ store: hanging, pool, clock: systemClock, logger: quiet.logger }, { workerId: 'me:1', leaseMs: lease });
    await keeper.start();
    try {
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error('never aborted')), lease * 3);
        const poll = setInterval(() => {
          if (abortedAt.has(claim)) {
            clearTimeout(deadline);
            clearInterval(poll);
            resolve();
          }
        }, 5);
      });
      const at = abortedAt.get(claim) as number;
      const expiresAt = claim.leaseExpiresAt.getTime();
      expect(at).toBeGreaterThanOrEqual(expiresAt - heartbeat - 5);
      // A heartbeat of margin, give or take timer slack: never at or after the expiry.
      expect(at).toBeLessThan(expiresAt - heartbeat / 2);
    } finally {
      await keeper.stop();
      await pool.stop();
    }
  });
});
