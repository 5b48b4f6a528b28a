import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type DeadLetterReason, type TaskCreate, type TaskPatch, api, unwrap } from './client';

/** Live pages ask again this often (the issue asks for at most 2 s). */
export const LIVE_MS = 2000;
/** While a run is in flight, its task's history is asked for faster, so that its start and its end both show. */
export const FAST_MS = 500;

/** Query keys, one place, so that a mutation invalidates exactly what it changed. */
export const keys = {
  info: (token: string | null) => ['info', token] as const,
  health: ['health'] as const,
  queue: ['queue'] as const,
  stats: ['stats'] as const,
  runStats: (window: string) => ['stats', 'runs', window] as const,
  tasks: ['tasks'] as const,
  taskList: (filters: TaskFilters, cursor: string | undefined) => ['tasks', 'list', filters, cursor] as const,
  task: (id: number) => ['tasks', 'one', id] as const,
  runs: (id: number) => ['tasks', 'runs', id] as const,
  notifications: (id: number) => ['tasks', 'notifications', id] as const,
  deadLetters: ['dead'] as const,
  deadLetterList: (reason: DeadLetterReason | undefined, cursor: string | undefined) => ['dead', reason, cursor] as const,
};

export interface TaskFilters {
  status?: 'running' | 'paused' | undefined;
  type?: string | undefined;
  up?: 'true' | 'false' | undefined;
  q?: string | undefined;
}

export function useHealth() {
  return useQuery({ queryKey: keys.health, queryFn: () => unwrap(api.GET('/healthz')), refetchInterval: LIVE_MS });
}

export function useQueue() {
  return useQuery({ queryKey: keys.queue, queryFn: () => unwrap(api.GET('/queue')), refetchInterval: LIVE_MS });
}

export function useStats() {
  return useQuery({ queryKey: keys.stats, queryFn: () => unwrap(api.GET('/stats')), refetchInterval: LIVE_MS });
}

export function useRunStats(window: '15m' | '1h' | '6h' | '24h' = '1h') {
  return useQuery({
    queryKey: keys.runStats(window),
    queryFn: () => unwrap(api.GET('/stats/runs', { params: { query: { window } } })),
    refetchInterval: LIVE_MS,
  });
}

export const TASK_PAGE_SIZE = 50;

export function useTaskList(filters: TaskFilters, cursor: string | undefined, limit = TASK_PAGE_SIZE) {
  return useQuery({
    queryKey: [...keys.taskList(filters, cursor), limit],
    queryFn: () => unwrap(api.GET('/tasks', { params: { query: { ...filters, cursor, limit } } })),
    refetchInterval: LIVE_MS,
    // Typing in the search box keeps the old rows on screen until the new ones arrive.
    placeholderData: keepPreviousData,
  });
}

export function useTask(id: number) {
  return useQuery({
    queryKey: keys.task(id),
    queryFn: () => unwrap(api.GET('/tasks/{id}', { params: { path: { id } } })),
    refetchInterval: LIVE_MS,
  });
}

/** Runs fetched per page: enough for the latency chart; the table shows fewer until asked. */
export const RUN_PAGE_SIZE = 100;

/** A task's run history, newest first, page by page; faster while a run is in flight or was just asked for. */
export function useRuns(id: number, fast: boolean) {
  return useInfiniteQuery({
    queryKey: keys.runs(id),
    queryFn: ({ pageParam }) =>
      unwrap(api.GET('/tasks/{id}/runs', { params: { path: { id }, query: { limit: RUN_PAGE_SIZE, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: (query) => {
      const running = query.state.data?.pages[0]?.items.some((r) => r.status === 'running') ?? false;
      return fast || running ? FAST_MS : LIVE_MS;
    },
  });
}

export function useNotifications(id: number) {
  return useQuery({
    queryKey: keys.notifications(id),
    queryFn: () => unwrap(api.GET('/tasks/{id}/notifications', { params: { path: { id }, query: { limit: 50 } } })),
    refetchInterval: LIVE_MS,
  });
}

export function useDeadLetters(reason: DeadLetterReason | undefined, cursor: string | undefined) {
  return useQuery({
    queryKey: keys.deadLetterList(reason, cursor),
    queryFn: () => unwrap(api.GET('/queue/dead', { params: { query: { reason, cursor, limit: 50 } } })),
    refetchInterval: LIVE_MS,
    placeholderData: keepPreviousData,
  });
}

// --- changes -------------------------------------------------------------------------------------------------

/** After any change to tasks: every task list, task, stats and queue view is stale. */
function useInvalidateTasks() {
  const client = useQueryClient();
  return () =>
    Promise.all([
      client.invalidateQueries({ queryKey: keys.tasks }),
      client.invalidateQueries({ queryKey: keys.stats }),
      client.invalidateQueries({ queryKey: keys.queue }),
      client.invalidateQueries({ queryKey: keys.deadLetters }),
    ]);
}

export function useCreateTask() {
  const invalidate = useInvalidateTasks();
  return useMutation({
    mutationFn: (body: TaskCreate) => unwrap(api.POST('/tasks', { body })),
    onSuccess: invalidate,
  });
}

export function useUpdateTask() {
  const invalidate = useInvalidateTasks();
  return useMutation({
    mutationFn: ({ id, body }: { id: number; body: TaskPatch }) =>
      unwrap(api.PATCH('/tasks/{id}', { params: { path: { id } }, body })),
    onSuccess: invalidate,
  });
}

/** The actions a task list or page offers, each on one task; bulk actions run them side by side. */
export type TaskAction = 'pause' | 'resume' | 'run' | 'delete';

export function runTaskAction(action: TaskAction, id: number): Promise<unknown> {
  const path = { params: { path: { id } } };
  switch (action) {
    case 'pause':
      return unwrap(api.PATCH('/tasks/{id}', { ...path, body: { status: 'paused' } }));
    case 'resume':
      return unwrap(api.PATCH('/tasks/{id}', { ...path, body: { status: 'running' } }));
    case 'run':
      return unwrap(api.POST('/tasks/{id}/run', path));
    case 'delete':
      return unwrap(api.DELETE('/tasks/{id}', path));
  }
}

/** Runs one action on many tasks; resolves with how many succeeded and the errors of the others. */
export function useTaskAction() {
  const invalidate = useInvalidateTasks();
  return useMutation({
    mutationFn: async ({ action, ids }: { action: TaskAction; ids: readonly number[] }) => settle(ids, (id) => runTaskAction(action, id)),
    onSettled: invalidate,
  });
}

export type DeadLetterAction = 'replay' | 'delete';

export function useDeadLetterAction() {
  const invalidate = useInvalidateTasks();
  return useMutation({
    mutationFn: async ({ action, ids }: { action: DeadLetterAction; ids: readonly number[] }) =>
      settle(ids, (id) => {
        const path = { params: { path: { id } } };
        return action === 'replay'
          ? unwrap(api.POST('/queue/dead/{id}/replay', path))
          : unwrap(api.DELETE('/queue/dead/{id}', path));
      }),
    onSettled: invalidate,
  });
}

export interface Settled {
  done: number[];
  failed: { id: number; error: unknown }[];
}

async function settle(ids: readonly number[], run: (id: number) => Promise<unknown>): Promise<Settled> {
  const results = await Promise.allSettled(ids.map(run));
  const out: Settled = { done: [], failed: [] };
  results.forEach((result, i) => {
    const id = ids[i] as number;
    if (result.status === 'fulfilled') out.done.push(id);
    else out.failed.push({ id, error: result.reason });
  });
  return out;
}
