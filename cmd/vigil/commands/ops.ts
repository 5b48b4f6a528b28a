import { type Command, Option } from 'commander';
import { type Queue, unwrap } from '../client.js';
import { type Context, type PagingOptions, pagingOptions, parseId, printList, resolveTaskId } from '../context.js';
import { ago, formatMs, json, table } from '../output.js';

const DEAD_REASONS = ['attempts_exhausted', 'malformed', 'unknown_task', 'unknown_type', 'deleted_while_pending'] as const;

/** `vigil runs TASK`, `vigil queue` and `vigil dead ls|replay|rm`: what an operator looks at when something is wrong. */
export function opsCommands(program: Command, ctxOf: (cmd: Command) => Context): void {
  pagingOptions(program.command('runs').description('run history of a task, newest first').argument('<task>', 'task id or key'), 'runs', 20).action(
    async (ref: string, opts: PagingOptions, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = await resolveTaskId(ctx, ref);
      await printList(
        ctx,
        opts,
        'runs',
        async (query) => unwrap(await ctx.api().GET('/tasks/{id}/runs', { params: { path: { id }, query } }), `task ${ref}`),
        (items) => {
          const now = Date.now();
          return table(
            ['ID', 'SLOT', 'ATTEMPT', 'SOURCE', 'STATUS', 'STARTED', 'DURATION', 'RESULT'],
            items.map((r) => [r.id, r.slot, r.attempt, r.source, r.status, ago(r.started_at, now), formatMs(r.duration_ms), resultOf(r)]),
          );
        },
      );
    },
  );

  program
    .command('queue')
    .description('queue health: streams, consumers, what is due, dead letters')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const queue = unwrap(await ctx.api().GET('/queue'), 'queue');
      ctx.io.stdout.write(ctx.json ? json(queue) : queueText(queue));
    });

  const dead = program.command('dead').description('dead letters: slots that could not be run, kept with their reason');

  pagingOptions(
    dead
      .command('ls')
      .description('list dead letters, newest first')
      .addOption(new Option('--reason <reason>', 'only this reason').choices(DEAD_REASONS)),
    'dead letters',
    50,
  ).action(async (opts: PagingOptions & { reason?: (typeof DEAD_REASONS)[number] }, cmd: Command) => {
    const ctx = ctxOf(cmd);
    await printList(
      ctx,
      opts,
      'dead letters',
      async (query) => unwrap(await ctx.api().GET('/queue/dead', { params: { query: { reason: opts.reason, ...query } } }), 'dead letters'),
      (items) => {
        const now = Date.now();
        return table(['ID', 'TASK', 'SLOT', 'REASON', 'ERROR', 'CREATED'], items.map((d) => [d.id, d.task_id, d.slot, d.reason, d.error, ago(d.created_at, now)]));
      },
    );
  });

  dead
    .command('replay')
    .description('run a dead letter’s slot again (the letter is removed)')
    .argument('<id>', 'dead letter id')
    .action(async (raw: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = parseId(raw, 'ID');
      const res = unwrap(await ctx.api().POST('/queue/dead/{id}/replay', { params: { path: { id } } }), `dead letter ${id}`);
      ctx.io.stdout.write(ctx.json ? json(res) : `replayed dead letter ${id}: task ${res.task.id} is due now (queued via ${res.queued_via})\n`);
    });

  dead
    .command('rm')
    .description('delete a dead letter')
    .argument('<id>', 'dead letter id')
    .action(async (raw: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = parseId(raw, 'ID');
      unwrap(await ctx.api().DELETE('/queue/dead/{id}', { params: { path: { id } } }), `dead letter ${id}`);
      ctx.io.stdout.write(ctx.json ? json({ deleted: id }) : `deleted dead letter ${id}\n`);
    });
}

/** A run's result in a few words: its error, or what a monitoring check reported. */
function resultOf(run: { status: string; error: string | null; output?: unknown }): string {
  if (run.error !== null) return run.error;
  const output = run.output as { up?: unknown; reason?: unknown; status_code?: unknown } | null | undefined;
  if (output !== null && typeof output === 'object' && typeof output.up === 'boolean') {
    const code = typeof output.status_code === 'number' ? ` ${output.status_code}` : '';
    return output.up ? `up${code}` : `down${code}${typeof output.reason === 'string' ? `: ${output.reason}` : ''}`;
  }
  return '-';
}

function queueText(q: Queue): string {
  const lines = [`status:        ${q.status}`, `mode:          ${q.mode}`];
  for (const reason of q.reasons) lines.push(`reason:        ${reason}`);
  lines.push(`dead letters:  ${q.dead_letters}`);
  lines.push(
    `due now:       ${q.polling.due} (oldest ${formatMs(q.polling.oldest_due_age_ms)}), running ${q.polling.running}`,
  );
  let text = `${lines.join('\n')}\n`;
  if (q.streams !== undefined) {
    text += `\n${table(
      ['STREAM', 'LENGTH', 'GROUPS', 'PENDING', 'LAG', 'OLDEST PENDING', 'CONSUMERS'],
      q.streams.map((s) => [s.stream, s.length, s.groups, s.pending, s.lag, formatMs(s.oldest_pending_age_ms), s.consumers.length]),
    )}`;
    const consumers = q.streams.flatMap((s) => s.consumers.map((c) => [s.stream, c.name, c.pending, formatMs(c.idle_ms)]));
    if (consumers.length > 0) text += `\n${table(['STREAM', 'CONSUMER', 'PENDING', 'IDLE'], consumers)}`;
  }
  return text;
}
