import { describe, expect, it } from 'vitest';
import type { SchedulerMode, TaskSource } from './task-source.js';
import { ModeController } from './mode-controller.js';
import { FakeHealth, quiet } from './test-support.js';

/** A source that records when it is started and stopped. */
function recordingSource(mode: SchedulerMode, log: string[]): TaskSource {
  return {
    mode,
    start: async () => void log.push(`start ${mode}`),
    stop: async () => void log.push(`stop ${mode}`),
  };
}

function controller(options: { failStreamStart?: boolean } = {}) {
  const log: string[] = [];
  const health = new FakeHealth();
  const mc = new ModeController(
    {
      streamMode: {
        health,
        source: recordingSource('redis_streams', log),
        start: async () => {
          if (options.failStreamStart === true) throw new Error('OOM command not allowed');
          log.push('start publisher');
        },
        stop: async () => void log.push('stop publisher'),
      },
      pollingSource: recordingSource('db_polling', log),
      ...quiet,
    },
    { probeIntervalMs: 60_000 },
  );
  return { mc, log, health };
}

describe('ModeController', () => {
  it('starts in stream mode when Redis is up, polls while it is down, and comes back on its own', async () => {
    const { mc, log, health } = controller();
    await mc.start();
    expect(mc.mode).toBe('redis_streams');
    health.up = false;
    await mc.runOnce();
    expect(mc.mode).toBe('db_polling');
    await mc.runOnce();
    health.up = true;
    await mc.runOnce();
    expect(mc.mode).toBe('redis_streams');
    await mc.stop();
    expect(log).toEqual([
      'start publisher',
      'start redis_streams',
      'stop publisher',
      'stop redis_streams',
      'start db_polling',
      'stop db_polling',
      'start publisher',
      'start redis_streams',
      'stop publisher',
      'stop redis_streams',
    ]);
  });

  it('polls, and marks the queue broken, when stream mode cannot start', async () => {
    const { mc, log, health } = controller({ failStreamStart: true });
    await mc.start();
    expect(mc.mode).toBe('db_polling');
    expect(health.broken).toContain('stream mode could not start: OOM');
    expect(log).toEqual(['start db_polling']);
    await mc.stop();
  });

  it('always polls without stream mode, and does nothing once stopped', async () => {
    const log: string[] = [];
    const mc = new ModeController({ streamMode: undefined, pollingSource: recordingSource('db_polling', log), ...quiet }, { probeIntervalMs: 60_000 });
    await mc.start();
    expect(mc.mode).toBe('db_polling');
    await mc.stop();
    await mc.stop();
    await mc.runOnce();
    expect(log).toEqual(['start db_polling', 'stop db_polling']);
  });
});
