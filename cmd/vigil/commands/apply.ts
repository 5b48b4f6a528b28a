import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { type Task, type TaskCreate, type TaskSpec, unwrap } from '../client.js';
import { type Context, allPages } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { type FileMonitor, exportMonitorsFile, readMonitorsFile } from '../monitors-file.js';
import { formatSchedule, json } from '../output.js';
import { type DesiredMonitor, type Plan, type PlanStep, diffSpec, planApply } from '../plan.js';

/** Requests in flight at once during an apply: quick on a big file, gentle on the server's rate limit. */
const CONCURRENCY = 4;

/** What happened to one step of the plan. */
interface StepResult {
  action: 'create' | 'update' | 'delete';
  key: string;
  /** The task's id once known. */
  id: number | null;
  ok: boolean;
  /** What was done when it differs from the plan: another apply created the task first, or deleted it. */
  note?: string;
  error?: string;
}

/** `vigil apply -f FILE` and `vigil export`: monitors kept as code. */
export function applyCommands(program: Command, ctxOf: (cmd: Command) => Context): void {
  program
    .command('apply')
    .description('make the server’s tasks match a monitors file: create, update, and with --prune delete')
    .requiredOption('-f, --file <path>', 'the monitors file (YAML or JSON; - reads stdin)')
    .option('--prune', 'delete tasks that have a key but are not in the file (tasks without a key are never touched)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (opts: { file: string; prune?: boolean; dryRun?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const file = readMonitorsFile(opts.file);
      const desired = await checkMonitors(ctx, file);
      const current = await listAllTasks(ctx);
      const plan = planApply(desired, current, { prune: opts.prune === true });
      if (!ctx.json) ctx.io.stdout.write(planText(plan, file.path));
      if (opts.dryRun === true) {
        if (ctx.json) ctx.io.stdout.write(json({ dry_run: true, plan: planJson(plan), summary: plan.summary }));
        return;
      }
      const results = await mapLimit(
        plan.steps.filter((s): s is Extract<PlanStep, { action: 'create' | 'update' | 'delete' }> =>
          s.action === 'create' || s.action === 'update' || s.action === 'delete',
        ),
        CONCURRENCY,
        (step) => applyStep(ctx, step),
      );
      const failed = results.filter((r) => !r.ok);
      if (ctx.json) {
        ctx.io.stdout.write(json({ dry_run: false, plan: planJson(plan), summary: plan.summary, results }));
      } else {
        for (const r of results) ctx.io.stdout.write(resultLine(r));
        const done = (action: StepResult['action']) => results.filter((r) => r.ok && r.action === action).length;
        ctx.io.stdout.write(
          `Applied: ${done('create')} created, ${done('update')} updated, ${done('delete')} deleted${failed.length > 0 ? `, ${failed.length} failed` : ''}.\n`,
        );
      }
      if (failed.length > 0) throw new CliError(`${failed.length} of ${results.length} changes failed; run apply again once fixed`, EXIT.failed);
    });

  program
    .command('export')
    .description('write the server’s tasks that have a key as a monitors file (apply it and nothing changes)')
    .option('-o, --output <path>', 'write to this file instead of stdout')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const tasks = await listAllTasks(ctx);
      const keyless = tasks.filter((t) => t.key === null);
      const yaml = exportMonitorsFile(
        tasks,
        ' Vigil monitors, written by `vigil export`; `vigil apply -f <this file>` makes a server match it.\n' +
          ' The format is described by docs/monitors.schema.json in the Vigil repository.',
      );
      const text = ctx.json ? json(parseYaml(yaml)) : yaml;
      if (opts.output === undefined) ctx.io.stdout.write(text);
      else writeFileSync(opts.output, text);
      if (keyless.length > 0) {
        ctx.io.stderr.write(
          `vigil: left out ${keyless.length} task${keyless.length === 1 ? '' : 's'} without a key (ids ${keyless
            .slice(0, 10)
            .map((t) => t.id)
            .join(', ')}${keyless.length > 10 ? ', …' : ''}); give one a key with: vigil tasks edit ID --key NAME\n`,
        );
      }
    });
}

/**
 * Asks the server how it would store each monitor (`POST /tasks/validate`): its checks are the ones that count
 * (registered types, payload schemas), and its answer, defaults filled in, is what the plan compares. Every
 * problem of the file is collected, each with its line, before anything is changed.
 */
async function checkMonitors(ctx: Context, file: ReturnType<typeof readMonitorsFile>): Promise<DesiredMonitor[]> {
  const problems: string[] = [];
  const checked = await mapLimit(file.monitors, CONCURRENCY, async (monitor) => {
    const result = await ctx.api().POST('/tasks/validate', { body: monitor.body as TaskCreate });
    if (result.response.status !== 400) return { monitor, spec: unwrap(result, `monitors[${monitor.index}] (${monitor.key})`) };
    const fields = (result.error as { error?: { fields?: Record<string, string> } } | undefined)?.error?.fields ?? {};
    for (const [field, message] of Object.entries(fields)) {
      const path = field === 'body' ? [] : field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      const where = file.locate(['monitors', monitor.index, ...path]);
      problems.push(`${where}: monitors[${monitor.index}]${field === 'body' ? '' : `.${field}`} (${monitor.key}): ${message}`);
    }
    return undefined;
  });
  if (problems.length > 0) throw usageError(`${file.path} is invalid; nothing was changed:\n  ${problems.join('\n  ')}`);
  return checked.filter((c): c is DesiredMonitor => c !== undefined);
}

async function listAllTasks(ctx: Context): Promise<Task[]> {
  return allPages(async (cursor) => unwrap(await ctx.api().GET('/tasks', { params: { query: { limit: 500, cursor } } }), 'tasks'));
}

/**
 * Carries out one step. The server decides between concurrent applies: a create whose key another apply took first
 * answers 409 naming `key`, and this one then reads that task and changes what still differs; an update or delete
 * of a task another apply deleted meanwhile creates it again, or has nothing left to do.
 */
async function applyStep(ctx: Context, step: Extract<PlanStep, { action: 'create' | 'update' | 'delete' }>): Promise<StepResult> {
  const api = ctx.api();
  const base = { action: step.action, key: step.key };
  try {
    if (step.action === 'delete') {
      const res = await api.DELETE('/tasks/{id}', { params: { path: { id: step.id } } });
      if (res.response.status === 404) return { ...base, id: step.id, ok: true, note: 'already gone' };
      unwrap(res, `delete ${step.key}`);
      return { ...base, id: step.id, ok: true };
    }
    if (step.action === 'update') {
      const res = await api.PATCH('/tasks/{id}', { params: { path: { id: step.id } }, body: step.patch });
      if (res.response.status === 404) return { ...(await createOrAdopt(ctx, step.monitor, step.spec)), action: 'update' };
      return { ...base, id: unwrap(res, `update ${step.key}`).id, ok: true };
    }
    return await createOrAdopt(ctx, step.monitor, step.spec);
  } catch (err) {
    if (err instanceof CliError && err.exitCode !== EXIT.failed && err.exitCode !== EXIT.notFound) throw err;
    return { ...base, id: 'id' in step ? step.id : null, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

async function createOrAdopt(ctx: Context, monitor: FileMonitor, spec: TaskSpec): Promise<StepResult> {
  const api = ctx.api();
  const base = { action: 'create' as const, key: monitor.key };
  const res = await api.POST('/tasks', { body: monitor.body as TaskCreate });
  const fields = (res.error as { error?: { fields?: Record<string, string> } } | undefined)?.error?.fields;
  if (res.response.status !== 409 || fields?.key === undefined) return { ...base, id: unwrap(res, `create ${monitor.key}`).id, ok: true };
  // Another apply created it first: make that task match the file too.
  const page = unwrap(await api.GET('/tasks', { params: { query: { key: monitor.key, limit: 1 } } }), `read ${monitor.key}`);
  const task = page.items[0];
  if (task === undefined) throw new CliError(`create ${monitor.key}: the key was taken and then freed; run apply again`, EXIT.failed);
  const change = diffSpec(spec, task);
  if (change !== undefined) {
    unwrap(await api.PATCH('/tasks/{id}', { params: { path: { id: task.id } }, body: change.patch }), `update ${monitor.key}`);
  }
  return { ...base, id: task.id, ok: true, note: 'created meanwhile by another apply' };
}

function planText(plan: Plan, path: string): string {
  const width = Math.min(40, Math.max(8, ...plan.steps.map((s) => s.key.length)));
  const lines: string[] = [];
  for (const step of plan.steps) {
    const key = step.key.padEnd(width);
    if (step.action === 'create') lines.push(`  + ${key}  create (${step.spec.type}, ${formatSchedule(step.spec.schedule)})`);
    if (step.action === 'update') lines.push(`  ~ ${key}  update task ${step.id}: ${step.fields.join(', ')}`);
    if (step.action === 'delete') lines.push(`  - ${key}  delete task ${step.id} (${step.name})`);
  }
  const { summary } = plan;
  if (summary.kept > 0) {
    const one = summary.kept === 1;
    lines.push(`  ${summary.kept} task${one ? '' : 's'} with a key not in the file left as ${one ? 'it is' : 'they are'} (--prune deletes ${one ? 'it' : 'them'})`);
  }
  const head = `Plan for ${path}:`;
  const total = `Plan: ${summary.create} to create, ${summary.update} to update, ${summary.delete} to delete, ${summary.unchanged} unchanged.`;
  return `${head}\n${lines.length > 0 ? `${lines.join('\n')}\n` : ''}${total}\n`;
}

function planJson(plan: Plan): unknown[] {
  return plan.steps.map((s) => {
    if (s.action === 'update') return { action: s.action, key: s.key, id: s.id, fields: s.fields };
    if (s.action === 'create') return { action: s.action, key: s.key, id: null };
    return { action: s.action, key: s.key, id: s.id };
  });
}

function resultLine(r: StepResult): string {
  const verb = { create: 'created', update: 'updated', delete: 'deleted' }[r.action];
  if (!r.ok) return `  ! ${r.key}: ${r.error ?? 'failed'}\n`;
  return `  ${verb} ${r.key}${r.id === null ? '' : ` (task ${r.id})`}${r.note === undefined ? '' : `: ${r.note}`}\n`;
}

/** `fn` over `items` with at most `limit` calls in flight; results in the order of the items. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
