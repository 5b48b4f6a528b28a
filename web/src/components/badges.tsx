import type { Run, Task } from '../api/client';

/** Up, down, or not yet known: the state a check last reported. */
export function UpBadge({ up }: { up: boolean | null }) {
  if (up === null) return <span className="badge neutral">no check yet</span>;
  return up ? <span className="badge good">up</span> : <span className="badge bad">down</span>;
}

export function TaskStatusBadge({ status }: { status: Task['status'] }) {
  return status === 'running' ? <span className="badge neutral">active</span> : <span className="badge warn">paused</span>;
}

const RUN_TONE: Record<Run['status'], string> = { running: 'info', succeeded: 'good', failed: 'bad', timed_out: 'bad' };
const RUN_WORDS: Record<Run['status'], string> = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timed out',
};

export function RunStatusBadge({ status }: { status: Run['status'] }) {
  return <span className={`badge ${RUN_TONE[status]}`}>{RUN_WORDS[status]}</span>;
}

const HEALTH_TONE: Record<string, string> = { ok: 'good', healthy: 'good', degraded: 'warn', unhealthy: 'bad' };

/** `ok`/`healthy`, `degraded`, `unhealthy`. */
export function HealthBadge({ status }: { status: string }) {
  return <span className={`badge ${HEALTH_TONE[status] ?? 'neutral'}`}>{status}</span>;
}
