import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type VigilChild,
  childEnv,
  deleteStreams,
  isAlive,
  killAll,
  runLines,
  spawnVigil,
  waitReady,
} from '../support/children.js';
import { REDIS_ADDR, type TestStore, createTestStore, uniqueName, waitFor } from '../support/services.js';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.js';

/**
 * The soak (`make soak`, not part of `make test`): an API and three schedulers on one MariaDB database and one
 * Redis stream, each scheduler behind its own TCP proxies, under a few minutes of random trouble: SIGKILLs and
 * restarts, SIGSTOP pauses longer than a lease, MySQL and Redis links cut and restored, poison stream entries,
 * outputs far over MariaDB's packet limit, "run now" and pause/resume from the API. Then the tasks are paused and
 * the whole history is checked: every slot has exactly one outcome, no attempt ran twice, none is left `running`,
 * no entry is pending, each poison entry is one dead letter, and the stream is trimmed.
 *
 * SOAK_SECONDS (default 180) sets how long the trouble lasts; SOAK_SEED replays a run's choices.
 */

const SOAK_MS = Number(process.env.SOAK_SECONDS ?? 180) * 1000;
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SCHEDULERS = 3;
/** Bytes of double quotes a `big_output` run returns: escaped, twice MariaDB's default 16 MiB max_allowed_packet. */
const BULKY_BYTES = 16 * 1024 * 1024;

interface SchedulerSlot {
  index: number;
  mysql: TcpProxy;
  redis: TcpProxy;
  child?: VigilChild;
  stopped: boolean;
}

interface Counts {
  kills: number;
  stops: number;
  mysqlCuts: number;
  redisCuts: number;
  poison: number;
  runNow: number;
  pauseResume: number;
  apiKills: number;
}

/** A small seeded generator (mulberry32), so that a failing run can be replayed with SOAK_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The pace of the chaos itself, not a wait for a condition. */
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('soak: three schedulers and an API under chaos', () => {
  const rand = random(SEED);
  const between = (min: number, max: number) => Math.round(min + rand() * (max - min));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const shuffle = <T>(items: T[]): T[] => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  };
  const deck: string[] = [];

  const stream = uniqueName('vigil_soak');
  const [redisHost = '127.0.0.1', redisPort = '6379'] = REDIS_ADDR.split(':');
  const redis = new Redis({ host: redisHost, port: Number(redisPort), lazyConnect: true, maxRetriesPerRequest: 2 });
  const children: VigilChild[] = [];
  const schedulers: SchedulerSlot[] = [];
  const counts: Counts = { kills: 0, stops: 0, mysqlCuts: 0, redisCuts: 0, poison: 0, runNow: 0, pauseResume: 0, apiKills: 0 };
  let db: TestStore;
  let api: VigilChild | undefined;
  let apiUrl = '';
  let taskIds: number[] = [];

  beforeAll(async () => {
    await redis.connect();
    db = await createTestStore('mysql', 'soak');
    const mysqlUrl = new URL(db.env.MYSQL_DSN ?? '');
    for (let index = 0; index < SCHEDULERS; index++) {
      schedulers.push({
        index,
        mysql: await startTcpProxy(mysqlUrl.hostname, Number(mysqlUrl.port || 3306)),
        redis: await startTcpProxy(redisHost, Number(redisPort)),
        stopped: false,
      });
    }
  });

  afterAll(async () => {
    // Each step is timed, so that a teardown that hangs says where.
    const step = async (name: string, work: () => Promise<unknown>) => {
      const started = Date.now();
      const slow = setTimeout(() => process.stderr.write(`soak teardown: still in "${name}" after 20 s\n`), 20_000);
      try {
        await work();
      } finally {
        clearTimeout(slow);
        process.stderr.write(`soak teardown: ${name} took ${Date.now() - started} ms\n`);
      }
    };
    for (const s of schedulers) if (s.stopped && s.child !== undefined) s.child.kill('SIGCONT');
    await step('killing the children', () => killAll(children));
    await step('closing the proxies', () => Promise.all(schedulers.flatMap((s) => [s.mysql.close(), s.redis.close()])));
    await step('deleting the streams', () => deleteStreams(stream));
    redis.disconnect();
    await step('dropping the database', async () => db?.cleanup());
  });

  function startScheduler(slot: SchedulerSlot): VigilChild {
    const dsn = new URL(db.env.MYSQL_DSN ?? '');
    dsn.hostname = '127.0.0.1';
    dsn.port = String(slot.mysql.port);
    const child = spawnVigil(
      'scheduler',
      childEnv({ MYSQL_DSN: dsn.toString() }, stream, {
        REDIS_ADDR: `127.0.0.1:${slot.redis.port}`,
        APP_WORKER_POOL_SIZE: '20',
        APP_LOG_LEVEL: 'warn',
      }),
    );
    children.push(child);
    slot.child = child;
    slot.stopped = false;
    return child;
  }

  async function startApi(): Promise<void> {
    api = spawnVigil('api', childEnv(db.env, stream, { APP_RUN_SCHEDULER: 'false', APP_LOG_LEVEL: 'warn' }));
    children.push(api);
    apiUrl = `http://127.0.0.1:${await waitReady(api)}`;
  }

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: res.status === 204 ? null : await res.json() };
  }

  /** Calls the API until it answers `expected`, through API restarts and outages (for set-up and wind-down). */
  async function callUntil(method: string, path: string, body: unknown, expected: number): Promise<unknown> {
    let last = 'no answer';
    return waitFor(
      async () => {
        const res = await call(method, path, body).catch((err: Error) => ({ status: 0, json: err.message }));
        last = `${res.status} ${JSON.stringify(res.json)}`.slice(0, 300);
        return res.status === expected ? (res.json ?? true) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: `${method} ${path} answering ${expected}` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; its last answer: ${last}`);
    });
  }

  async function createTasks(): Promise<number[]> {
    const specs = [
      ...Array.from({ length: 120 }, (_, i) => ({ name: `count ${i}`, type: 'count', schedule: { every: 3 }, payload: {} })),
      ...Array.from({ length: 30 }, (_, i) => ({ name: `sleep ${i}`, type: 'sleep', schedule: { every: 5 }, payload: { ms: 2500 } })),
      ...Array.from({ length: 20 }, (_, i) => ({ name: `flaky ${i}`, type: 'flaky', schedule: { every: 4 }, payload: { fail_times: 1 } })),
      ...Array.from({ length: 5 }, (_, i) => ({ name: `fail ${i}`, type: 'fail', schedule: { every: 6 }, payload: {}, max_attempts: 2 })),
      ...Array.from({ length: 3 }, (_, i) => ({ name: `big output ${i}`, type: 'big_output', schedule: { every: 10 }, payload: { bytes: BULKY_BYTES } })),
    ];
    const ids: number[] = [];
    for (const spec of specs) {
      const created = (await callUntil('POST', '/tasks', { ...spec, timeout_ms: 10_000 }, 201)) as { id: number };
      ids.push(created.id);
    }
    return ids;
  }

  /** Entries no scheduler can run, each marked so that its dead letter can be found. */
  async function injectPoison(): Promise<void> {
    const n = counts.poison;
    const now = new Date().toISOString();
    const entries: string[][] = [
      ['task_id', 'abc', 'slot', now],
      ['task_id', '999999999', 'slot', '+010000-01-01T00:00:00Z', 'source', 'periodic', 'enqueued_at', now],
      ['task_id', String(pick(taskIds)), 'slot', 'not a time'],
      ['task_id', '888888888', 'slot', now, 'source', 'periodic', 'enqueued_at', now],
    ];
    for (const [i, fields] of entries.entries()) {
      await redis.xadd(`{${stream}}:p${pick([1, 3, 5])}`, '*', ...fields, 'poison', `${n + i}`);
    }
    counts.poison += entries.length;
  }

  async function chaosStep(background: Promise<unknown>[]): Promise<void> {
    const alive = schedulers.filter((s) => s.child !== undefined && isAlive(s.child) && !s.stopped);
    // Drawn from a shuffled deck, so that every kind of trouble comes up in every dozen steps or so.
    if (deck.length === 0) deck.push(...shuffle(['kill', 'kill', 'kill', 'stop', 'stop', 'mysql', 'mysql', 'redis', 'redis', 'poison', 'runNow', 'runNow', 'pauseResume', 'killApi']));
    const action = deck.pop();
    const target = pick(schedulers);
    switch (action) {
      case 'kill': {
        if (alive.length < 2 || !alive.includes(target) || target.child === undefined) return;
        target.child.kill('SIGKILL');
        counts.kills++;
        const child = target.child;
        background.push(
          (async () => {
            await child.exited;
            await pause(between(500, 3000));
            startScheduler(target);
          })(),
        );
        return;
      }
      case 'stop': {
        if (alive.length < 2 || !alive.includes(target) || target.child === undefined) return;
        // Longer than a lease (1.5 s here), so that recovery takes its slots while it sleeps.
        const child = target.child;
        child.kill('SIGSTOP');
        target.stopped = true;
        counts.stops++;
        background.push(
          (async () => {
            await pause(between(2000, 6000));
            child.kill('SIGCONT');
            target.stopped = false;
          })(),
        );
        return;
      }
      case 'mysql':
      case 'redis': {
        const proxy = action === 'mysql' ? target.mysql : target.redis;
        if (action === 'mysql') counts.mysqlCuts++;
        else counts.redisCuts++;
        background.push(
          (async () => {
            await proxy.block();
            await pause(between(1000, 5000));
            proxy.unblock();
          })(),
        );
        return;
      }
      case 'poison':
        await injectPoison();
        return;
      case 'runNow': {
        const res = await call('POST', `/tasks/${pick(taskIds)}/run`).catch(() => undefined);
        if (res?.status === 200 || res?.status === 202) counts.runNow++;
        return;
      }
      case 'pauseResume': {
        const id = pick(taskIds);
        const paused = await call('PATCH', `/tasks/${id}`, { status: 'paused' }).catch(() => undefined);
        if (paused?.status !== 200) return;
        counts.pauseResume++;
        background.push(
          (async () => {
            await pause(between(1000, 3000));
            await callUntil('PATCH', `/tasks/${id}`, { status: 'running' }, 200);
          })(),
        );
        return;
      }
      case 'killApi': {
        if (api === undefined) return;
        api.kill('SIGKILL');
        await api.exited;
        counts.apiKills++;
        await startApi();
        return;
      }
    }
  }

  async function pendingEntries(): Promise<number> {
    let pending = 0;
    for (let p = 1; p <= 5; p++) {
      const groups = (await redis.xinfo('GROUPS', `{${stream}}:p${p}`).catch(() => [])) as unknown[][];
      for (const group of groups) pending += Number(group[group.indexOf('pending') + 1]);
    }
    return pending;
  }

  async function streamLength(): Promise<number> {
    let length = 0;
    for (let p = 1; p <= 5; p++) length += await redis.xlen(`{${stream}}:p${p}`);
    return length;
  }

  it(
    `keeps every guarantee through ${SOAK_MS / 1000} s of kills, pauses, cuts and poison (seed ${SEED})`,
    async () => {
      process.stderr.write(`soak: seed ${SEED}, ${SOAK_MS / 1000} s of chaos\n`);
      await startApi();
      for (const slot of schedulers) await waitReady(startScheduler(slot));
      taskIds = await createTasks();

      const background: Promise<unknown>[] = [];
      const end = Date.now() + SOAK_MS;
      let maxLength = 0;
      while (Date.now() < end) {
        await pause(between(1500, 4000));
        await chaosStep(background);
        maxLength = Math.max(maxLength, await streamLength());
      }

      // Wind down: every link restored, every scheduler running, then no new slots.
      await Promise.all(background);
      for (const s of schedulers) {
        s.mysql.unblock();
        s.redis.unblock();
        if (s.child === undefined || !isAlive(s.child)) await waitReady(startScheduler(s));
      }
      for (const id of taskIds) await callUntil('PATCH', `/tasks/${id}`, { status: 'paused' }, 200);
      let state = '';
      const quiet = await waitFor(
        async () => {
          const running = await db.store.db.selectFrom('task_runs').select('task_id').where('status', '=', 'running').execute();
          const leased = await db.store.db.selectFrom('tasks').select('id').where('lease_token', 'is not', null).execute();
          const pending = await pendingEntries();
          state = `running runs of tasks ${running.map((r) => r.task_id).join(',')}; leases on ${leased.map((t) => t.id).join(',')}; ${pending} pending`;
          return running.length === 0 && leased.length === 0 && pending === 0 ? { pending } : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500, message: 'no run running, no lease held, no entry pending' },
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${state}`);
      });
      expect(quiet.pending).toBe(0);
      // Trimming runs every 30 s: what every group has read and acknowledged goes.
      await waitFor(async () => (await streamLength()) <= 5, { timeoutMs: 75_000, intervalMs: 1000, message: 'the stream trimmed' });

      // The history.
      const runs = await db.store.db
        .selectFrom('task_runs')
        .select(['task_id', 'slot', 'attempt', 'status', 'started_at', 'finished_at', 'output', 'error'])
        .orderBy('task_id')
        .orderBy('slot')
        .orderBy('attempt')
        .execute();
      const tasks = await db.store.db.selectFrom('tasks').select(['id', 'type', 'next_run_at', 'attempts']).execute();
      const deadLetters = await db.store.db.selectFrom('dead_letters').select(['task_id', 'slot', 'reason', 'fields']).execute();
      const taskById = new Map(tasks.map((t) => [Number(t.id), t]));

      const bySlot = new Map<string, typeof runs>();
      for (const run of runs) {
        const key = `${run.task_id}/${new Date(run.slot).toISOString()}`;
        bySlot.set(key, [...(bySlot.get(key) ?? []), run]);
      }
      const exhausted = new Map<string, number>();
      for (const d of deadLetters.filter((d) => d.reason === 'attempts_exhausted')) {
        const key = `${d.task_id}/${new Date(d.slot ?? 0).toISOString()}`;
        exhausted.set(key, (exhausted.get(key) ?? 0) + 1);
      }

      const problems: string[] = [];
      let awaitingRetry = 0;
      for (const [key, attempts] of bySlot) {
        const numbers = attempts.map((a) => Number(a.attempt));
        if (numbers.some((n, i) => n !== i + 1)) problems.push(`${key}: attempts ${numbers.join(',')}`);
        const succeeded = attempts.filter((a) => a.status === 'succeeded');
        const last = attempts.at(-1);
        if (succeeded.length > 1) problems.push(`${key}: ${succeeded.length} successes`);
        if (succeeded.length === 1 && last?.status !== 'succeeded') problems.push(`${key}: an attempt after the success`);
        if (succeeded.length === 1 && exhausted.has(key)) problems.push(`${key}: succeeded and dead-lettered`);
        if ((exhausted.get(key) ?? 0) > 1) problems.push(`${key}: ${exhausted.get(key)} dead letters`);
        if (succeeded.length === 0 && !exhausted.has(key)) {
          // Paused between two attempts: the slot waits for its retry, which is where the task row points.
          const task = taskById.get(Number(last?.task_id));
          const waiting = task !== undefined && new Date(task.next_run_at).getTime() === new Date(last?.slot ?? 0).getTime();
          if (waiting) awaitingRetry++;
          else problems.push(`${key}: no outcome (${attempts.map((a) => a.status).join(',')})`);
        }
        for (let i = 1; i < attempts.length; i++) {
          const before = attempts[i - 1];
          const after = attempts[i];
          if (before?.finished_at == null || after === undefined) continue;
          if (new Date(after.started_at).getTime() < new Date(before.finished_at).getTime()) {
            problems.push(`${key}: attempt ${after.attempt} started before attempt ${before.attempt} ended`);
          }
        }
      }
      expect(problems.slice(0, 20)).toEqual([]);

      // Each handler call was recorded, and no (task, slot, attempt) was called twice.
      const calls = runLines(children).map((c) => `${c.taskId}/${c.slot}/${c.attempt}`);
      expect(calls.length - new Set(calls).size).toBe(0);
      const recorded = new Set(runs.map((r) => `${r.task_id}/${new Date(r.slot).toISOString()}/${r.attempt}`));
      expect(calls.filter((c) => !recorded.has(c))).toEqual([]);

      // Each poison entry is exactly one dead letter, whatever the number of its deliveries.
      const poisonLetters = deadLetters.flatMap((d) => {
        const marker = (JSON.parse(String(d.fields)) as { poison?: string }).poison;
        return marker === undefined ? [] : [marker];
      });
      expect(poisonLetters.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: counts.poison }, (_, i) => String(i)));

      // Outputs over the packet limit were cut, flagged, and recorded.
      const bulkyIds = new Set(tasks.filter((t) => t.type === 'big_output').map((t) => Number(t.id)));
      const bulky = runs.filter((r) => bulkyIds.has(Number(r.task_id)) && r.status === 'succeeded');
      expect(bulky.length).toBeGreaterThan(0);
      for (const run of bulky) {
        expect(String(run.output).length).toBeLessThan(1024 * 1024);
        expect(String(run.output)).toContain('output_truncated');
      }

      // No process died on its own.
      for (const s of schedulers) expect(s.child !== undefined && isAlive(s.child)).toBe(true);
      expect(api !== undefined && isAlive(api)).toBe(true);

      const summary = {
        seed: SEED,
        seconds: SOAK_MS / 1000,
        tasks: taskIds.length,
        slots: bySlot.size,
        runs: runs.length,
        succeeded: runs.filter((r) => r.status === 'succeeded').length,
        failedAttempts: runs.filter((r) => r.status !== 'succeeded').length,
        deadLetters: Object.fromEntries(
          [...new Set(deadLetters.map((d) => d.reason))].map((reason) => [reason, deadLetters.filter((d) => d.reason === reason).length]),
        ),
        awaitingRetry,
        handlerCalls: calls.length,
        bulkyRuns: bulky.length,
        maxStreamLength: maxLength,
        ...counts,
      };
      process.stderr.write(`soak summary: ${JSON.stringify(summary)}\n`);
    },
    SOAK_MS + 600_000,
  );
});
