import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { channelInsert, notificationListByTask, runListByTask, taskGetById, taskInsert } from '../internal/store/index.js';
import { type VigilChild, childEnv, deleteStreams, killAll, spawnVigil, waitReady } from './support/children.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * The alert state lives in the store: a scheduler process is killed with SIGKILL in the middle of a streak (two
 * of the three failures `down_after` asks for), and a new process picks the streak up where it was. The third
 * failure sends exactly one `down`, and the failures after it send nothing more: nothing forgotten, nothing twice.
 */

interface Alert {
  state: string | null;
  streak: number;
  notification: string;
}

describe('alert state across a scheduler killed mid-streak', () => {
  let db: TestStore;
  let target: LocalServer;
  let receiver: LocalServer;
  const stream = uniqueName('vigil_alerts_restart');
  const children: VigilChild[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', 'alerts_restart');
    target = await startServer((_req, res) => reply(res, 500, 'broken'));
    receiver = await startServer((_req, res) => reply(res, 200, 'ok'));
  });

  afterAll(async () => {
    await killAll(children);
    await deleteStreams(stream);
    await target?.close();
    await receiver?.close();
    await db?.cleanup();
  });

  function spawnScheduler(): VigilChild {
    const child = spawnVigil('scheduler', childEnv(db.env, stream));
    children.push(child);
    return child;
  }

  /** Finished runs of the task, oldest first, with their outputs. */
  async function finished(taskId: number) {
    const page = await runListByTask(db.store, { taskId, limit: 500 });
    return page.items
      .filter((r) => r.status !== 'running')
      .reverse()
      .map((r) => ({ id: r.id, status: r.status, output: r.output as { up?: boolean; alert?: Alert } | null }));
  }

  it('counts the failures before the kill and sends one down after it', async () => {
    const first = spawnScheduler();
    await waitReady(first);
    const now = new Date();
    const channel = await channelInsert(db.store, { name: 'hook', kind: 'webhook', config: { url: `${receiver.origin}/alerts` }, now });
    // Every 2 s, so that the kill lands well before the third result.
    const task = await taskInsert(db.store, {
      name: 'restarted',
      type: 'http',
      payload: { url: `${target.origin}/health` },
      schedule: { every: 2 },
      priority: 3,
      timeoutMs: 5000,
      maxAttempts: 3,
      status: 'running',
      notify: { channels: [channel.id], on: ['down', 'up'], down_after: 3 },
      nextRunAt: now,
      queuedUntil: null,
      idempotencyKey: null,
      requestHash: null,
      now,
    });

    await waitFor(async () => (await finished(task.id)).length >= 2, { timeoutMs: 20_000, message: 'two failed checks' });
    first.kill('SIGKILL');
    await first.exited;
    const beforeKill = await finished(task.id);
    expect(beforeKill).toHaveLength(2);
    expect(beforeKill.map((r) => r.output?.alert)).toEqual([
      { state: null, streak: 1, notification: 'suppressed' },
      { state: null, streak: 2, notification: 'suppressed' },
    ]);
    expect((await notificationListByTask(db.store, { taskId: task.id, limit: 10 })).items).toEqual([]);

    const second = spawnScheduler();
    await waitReady(second);
    await waitFor(async () => (await finished(task.id)).filter((r) => r.status === 'succeeded').length >= 5, {
      timeoutMs: 30_000,
      message: 'three more checks after the restart',
    });
    await waitFor(() => receiver.requests.length >= 1, { message: 'the down delivered' });

    const all = (await finished(task.id)).filter((r) => r.status === 'succeeded');
    expect(all.map((r) => r.output?.alert?.streak)).toEqual(all.map((_, i) => i + 1));
    expect(all[2]?.output?.alert).toMatchObject({ state: 'down', streak: 3, notification: 'sent' });
    expect(all.slice(3).every((r) => r.output?.alert?.notification === 'none')).toBe(true);

    const notes = (await notificationListByTask(db.store, { taskId: task.id, limit: 10 })).items;
    expect(notes.map((n) => [n.event, n.runId])).toEqual([['down', all[2]?.id]]);
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0]?.body.toString() ?? '{}')).toMatchObject({ task_id: task.id, event: 'down' });
    expect((await taskGetById(db.store, task.id))?.up).toBe(false);
  });
});
