import { type Command, Option } from 'commander';
import { parseInteger, parseJsonObject, readObjectFile } from '../args.js';
import { type Task, type TaskCreate, type TaskPatch, unwrap } from '../client.js';
import { type Context, type PagingOptions, pagingOptions, printList, resolveTaskId } from '../context.js';
import { usageError } from '../errors.js';
import { ago, details, formatSchedule, json, table } from '../output.js';

/** `vigil tasks …`: list, read, create, change, pause, resume, run and delete tasks. */
export function tasksCommand(program: Command, ctxOf: (cmd: Command) => Context): void {
  const tasks = program.command('tasks').description('list, read, create, change, run and delete tasks');

  pagingOptions(
    tasks
      .command('ls')
      .description('list tasks, oldest first')
      .addOption(new Option('--status <status>', 'only running or paused tasks').choices(['running', 'paused']))
      .option('--type <type>', 'only tasks of this type')
      .option('--key <key>', 'only the task with this key'),
    'tasks',
    50,
  ).action(async (opts: PagingOptions & { status?: 'running' | 'paused'; type?: string; key?: string }, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const filter = { status: opts.status, type: opts.type, key: opts.key };
    await printList(ctx, opts, 'tasks', async (query) => unwrap(await ctx.api().GET('/tasks', { params: { query: { ...filter, ...query } } }), 'tasks'), taskTable);
  });

  tasks
    .command('get')
    .description('show one task')
    .argument('<task>', 'task id or key')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = await resolveTaskId(ctx, ref);
      const task = unwrap(await ctx.api().GET('/tasks/{id}', { params: { path: { id } } }), `task ${ref}`);
      ctx.io.stdout.write(ctx.json ? json(task) : taskDetails(task));
    });

  taskFieldOptions(
    tasks
      .command('create')
      .description('create a task from options, a file (-f), or both (options win)')
      .option('-f, --file <path>', 'a JSON or YAML file with the task (the body of POST /tasks)')
      .option('--paused', 'create it paused')
      .option('--idempotency-key <key>', 'makes a retried create return the first task instead of a second one'),
  ).action(async (opts: TaskFieldOptions & { file?: string; paused?: boolean; idempotencyKey?: string }, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const fromFile = opts.file === undefined ? {} : readObjectFile(opts.file, 'task');
    const body = { ...fromFile, ...taskFields(opts), ...(opts.paused === true ? { status: 'paused' } : {}) } as TaskCreate;
    const headers = opts.idempotencyKey === undefined ? undefined : { 'Idempotency-Key': opts.idempotencyKey };
    const created = unwrap(await ctx.api().POST('/tasks', { body, ...(headers === undefined ? {} : { headers }) }), 'create');
    ctx.io.stdout.write(ctx.json ? json(created) : `created task ${created.id}${created.key === null ? '' : ` (${created.key})`}\n`);
  });

  taskFieldOptions(
    tasks
      .command('edit')
      .description('change some fields of a task; the others stay as they are')
      .argument('<task>', 'task id or key')
      .option('--no-key', 'remove the task’s key')
      .option('--no-notify', 'remove the task’s webhook'),
  ).action(async (ref: string, opts: TaskFieldOptions & { key?: string | false; notify?: string | false }, cmd: Command) => {
    const ctx = ctxOf(cmd);
    const patch: TaskPatch = taskFields(opts);
    if (opts.key === false) patch.key = null;
    if (opts.notify === false) patch.notify = null;
    if (Object.keys(patch).length === 0) throw usageError('nothing to change: give at least one option (see vigil tasks edit --help)');
    await patchTask(ctx, ref, patch, 'changed');
  });

  tasks
    .command('pause')
    .description('stop running a task on its schedule (a slot in progress finishes)')
    .argument('<task>', 'task id or key')
    .action(async (ref: string, _opts: unknown, cmd: Command) => patchTask(ctxOf(cmd), ref, { status: 'paused' }, 'paused'));

  tasks
    .command('resume')
    .description('run a paused task on its schedule again')
    .argument('<task>', 'task id or key')
    .action(async (ref: string, _opts: unknown, cmd: Command) => patchTask(ctxOf(cmd), ref, { status: 'running' }, 'resumed'));

  tasks
    .command('run')
    .description('run a task now (a slot at the current time)')
    .argument('<task>', 'task id or key')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = await resolveTaskId(ctx, ref);
      const task = unwrap(await ctx.api().POST('/tasks/{id}/run', { params: { path: { id } } }), `task ${ref}`);
      ctx.io.stdout.write(ctx.json ? json(task) : `task ${task.id} is due now (queued via ${task.queued_via})\n`);
    });

  tasks
    .command('rm')
    .description('delete a task and its run history')
    .argument('<task>', 'task id or key')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = await resolveTaskId(ctx, ref);
      unwrap(await ctx.api().DELETE('/tasks/{id}', { params: { path: { id } } }), `task ${ref}`);
      ctx.io.stdout.write(ctx.json ? json({ deleted: id }) : `deleted task ${id}\n`);
    });
}

async function patchTask(ctx: Context, ref: string, patch: TaskPatch, verb: string): Promise<void> {
  const id = await resolveTaskId(ctx, ref);
  const task = unwrap(await ctx.api().PATCH('/tasks/{id}', { params: { path: { id } }, body: patch }), `task ${ref}`);
  ctx.io.stdout.write(ctx.json ? json(task) : `${verb} task ${task.id}\n`);
}

interface TaskFieldOptions {
  name?: string;
  key?: string | false;
  type?: string;
  every?: string;
  cron?: string;
  tz?: string;
  payload?: string;
  priority?: string;
  timeoutMs?: string;
  maxAttempts?: string;
  notify?: string | false;
}

/** The options that set task fields, shared by create and edit. */
function taskFieldOptions(command: Command): Command {
  return command
    .option('--name <name>', 'name (1-200 characters)')
    .option('--key <key>', 'stable key, unique among tasks (what vigil apply matches on)')
    .option('--type <type>', 'task type, such as http or noop')
    .option('--every <interval>', 'run every interval: seconds, or 30s, 5m, 1h, 1d')
    .option('--cron <line>', 'run on a cron line (five fields, or six with seconds first)')
    .option('--tz <zone>', 'IANA time zone the cron line is read in (default UTC)')
    .option('--payload <json>', 'the type’s input, as JSON')
    .option('--priority <1-5>', '5 runs first (default 3)')
    .option('--timeout-ms <ms>', 'timeout of one attempt (default 30000)')
    .option('--max-attempts <n>', 'attempts per slot before it is dead-lettered (default 3)')
    .option('--notify <json>', 'webhook: {"webhook_url": "…", "on": ["down", "up"]}');
}

/** The task fields the options set; flags that are not numbers or JSON are usage errors naming the flag. */
function taskFields(opts: TaskFieldOptions): TaskPatch {
  const fields: TaskPatch = {};
  if (opts.name !== undefined) fields.name = opts.name;
  if (typeof opts.key === 'string') fields.key = opts.key;
  if (opts.type !== undefined) fields.type = opts.type;
  if (opts.every !== undefined && opts.cron !== undefined) throw usageError('--every and --cron: give one schedule, not both');
  if (opts.every !== undefined) fields.schedule = { every: parseInterval(opts.every) };
  if (opts.cron !== undefined) fields.schedule = opts.tz === undefined ? { cron: opts.cron } : { cron: opts.cron, tz: opts.tz };
  if (opts.tz !== undefined && opts.cron === undefined) throw usageError('--tz: goes with --cron');
  if (opts.payload !== undefined) fields.payload = parseJsonObject(opts.payload, '--payload');
  if (opts.priority !== undefined) fields.priority = parseInteger(opts.priority, '--priority');
  if (opts.timeoutMs !== undefined) fields.timeout_ms = parseInteger(opts.timeoutMs, '--timeout-ms');
  if (opts.maxAttempts !== undefined) fields.max_attempts = parseInteger(opts.maxAttempts, '--max-attempts');
  if (typeof opts.notify === 'string') fields.notify = parseJsonObject(opts.notify, '--notify') as TaskPatch['notify'];
  return fields;
}

/** `60`, `30s`, `5m`, `1h`, `1d` → seconds. */
export function parseInterval(text: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw usageError(`--every: must be seconds or a duration such as 30s, 5m, 1h, 1d (got ${JSON.stringify(text)})`);
  const factor = { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * factor;
}

export function taskTable(tasks: readonly Task[]): string {
  const now = Date.now();
  return table(
    ['ID', 'KEY', 'NAME', 'TYPE', 'SCHEDULE', 'STATUS', 'UP', 'LAST', 'NEXT'],
    tasks.map((t) => [
      t.id,
      t.key,
      t.name,
      t.type,
      formatSchedule(t.schedule),
      t.status,
      t.up === null ? '-' : t.up ? 'up' : 'down',
      t.last_status === null ? '-' : `${t.last_status} ${ago(t.last_run_at, now)}`,
      t.status === 'paused' ? '-' : ago(t.next_run_at, now),
    ]),
    40,
  );
}

function taskDetails(t: Task): string {
  return details([
    ['id', t.id],
    ['key', t.key],
    ['name', t.name],
    ['type', t.type],
    ['schedule', formatSchedule(t.schedule)],
    ['status', t.status],
    ['priority', t.priority],
    ['timeout', `${t.timeout_ms}ms`],
    ['max attempts', t.max_attempts],
    ['up', t.up === null ? '-' : t.up ? 'yes' : 'no'],
    ['last run', t.last_run_at === null ? '-' : `${t.last_run_at} (${t.last_status ?? '-'})`],
    ['next run', t.next_run_at],
    ['notify', t.notify === null ? '-' : notifyText(t.notify)],
    ['payload', JSON.stringify(t.payload)],
    ['created', t.created_at],
    ['updated', t.updated_at],
  ]);
}

/** `down, up → https://hooks.example/… and channels 1, 2 (down after 3)`. */
function notifyText(notify: NonNullable<Task['notify']>): string {
  const targets = [
    ...(notify.webhook_url === undefined ? [] : [notify.webhook_url]),
    ...(notify.channels === undefined || notify.channels.length === 0 ? [] : [`channels ${notify.channels.join(', ')}`]),
  ];
  const thresholds = [
    ...(notify.down_after === undefined ? [] : [`down after ${notify.down_after}`]),
    ...(notify.up_after === undefined ? [] : [`up after ${notify.up_after}`]),
    ...(notify.remind_every === undefined ? [] : [`remind every ${notify.remind_every}`]),
  ];
  return `${notify.on.join(', ')} → ${targets.join(' and ') || '-'}${thresholds.length === 0 ? '' : ` (${thresholds.join(', ')})`}`;
}
