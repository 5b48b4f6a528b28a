import { type Db, type Schedule, type Task, type TaskRun, firstSlotAfter, runLatestFinishedByTasks } from '../store/index.js';
import type { LastRunJson, TaskJson } from './schemas.js';
import { taskToJson } from './serializers.js';

/** How many upcoming slots a read of a task lists in `next_runs`. */
export const NEXT_RUNS_SHOWN = 3;

/**
 * Tasks as the read endpoints (`GET /tasks`, `GET /tasks/{id}`) show them: the task JSON plus what a person looking
 * at a list of monitors wants beside it, the next slots and the latest finished attempt. Writes answer with the
 * plain task JSON, so that the create path stays one INSERT and one publish.
 */
export async function taskViewsToJson(conn: Db, tasks: readonly Task[]): Promise<TaskJson[]> {
  const latest = await runLatestFinishedByTasks(
    conn,
    tasks.map((t) => t.id),
  );
  return tasks.map((task) => ({
    ...taskToJson(task),
    next_runs: nextRuns(task.schedule, task.nextRunAt, task.id).map((d) => d.toISOString()),
    last_run: lastRunToJson(latest.get(task.id)),
  }));
}

/** `next_run_at` and the slots after it: the times a task will run if nothing changes. */
export function nextRuns(schedule: Schedule, nextRunAt: Date, taskId: number, count = NEXT_RUNS_SHOWN): Date[] {
  const out = [nextRunAt];
  while (out.length < count) out.push(firstSlotAfter(schedule, out[out.length - 1] as Date, taskId));
  return out;
}

function lastRunToJson(run: TaskRun | undefined): LastRunJson | null {
  if (run === undefined || run.status === 'running') return null;
  const output = isRecord(run.output) ? run.output : {};
  const latency = output.latency_ms;
  return {
    id: run.id,
    status: run.status,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
    duration_ms: run.durationMs,
    latency_ms: typeof latency === 'number' && Number.isFinite(latency) && latency >= 0 ? latency : null,
    up: typeof output.up === 'boolean' ? output.up : null,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
