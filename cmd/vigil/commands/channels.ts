import { type Command, Option } from 'commander';
import { parseJsonObject, readObjectFile } from '../args.js';
import { type Channel, type ChannelCreate, type ChannelPatch, unwrap } from '../client.js';
import { type Context, type PagingOptions, pagingOptions, parseId, printList } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { ago, details, json, table } from '../output.js';

const KINDS = ['webhook', 'email', 'slack', 'discord', 'telegram', 'ntfy'] as const;

/**
 * `vigil channels ls|get|create|edit|rm|test`: where alerts go. The API masks every secret in what it returns, so
 * nothing these commands print holds a token or a password.
 */
export function channelsCommand(program: Command, ctxOf: (cmd: Command) => Context): void {
  const channels = program.command('channels').description('alert channels: webhook, email, Slack, Discord, Telegram, ntfy');

  pagingOptions(
    channels
      .command('ls')
      .description('list channels, oldest first')
      .addOption(new Option('--kind <kind>', 'only channels of this kind').choices(KINDS)),
    'channels',
    50,
  ).action(async (opts: PagingOptions & { kind?: (typeof KINDS)[number] }, cmd: Command) => {
    const ctx = ctxOf(cmd);
    await printList(
      ctx,
      opts,
      'channels',
      async (query) => unwrap(await ctx.api().GET('/channels', { params: { query: { kind: opts.kind, ...query } } }), 'channels'),
      (items) => {
        const now = Date.now();
        return table(['ID', 'NAME', 'KIND', 'TARGET', 'UPDATED'], items.map((c) => [c.id, c.name, c.kind, targetOf(c), ago(c.updated_at, now)]));
      },
    );
  });

  channels
    .command('get')
    .description('show one channel (secrets masked)')
    .argument('<id>', 'channel id')
    .action(async (raw: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = parseId(raw, 'ID');
      const channel = unwrap(await ctx.api().GET('/channels/{id}', { params: { path: { id } } }), `channel ${id}`);
      ctx.io.stdout.write(ctx.json ? json(channel) : channelDetails(channel));
    });

  channels
    .command('create')
    .description('create a channel from options, a file (-f), or both (options win)')
    .option('-f, --file <path>', 'a JSON or YAML file with the channel (the body of POST /channels)')
    .option('--name <name>', 'unique name')
    .addOption(new Option('--kind <kind>', 'what it sends to').choices(KINDS))
    .option('--config <json>', 'the kind’s settings, such as {"url": "https://…"} for a webhook')
    .action(async (opts: { file?: string; name?: string; kind?: string; config?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const body = {
        ...(opts.file === undefined ? {} : readObjectFile(opts.file, 'channel')),
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(opts.kind === undefined ? {} : { kind: opts.kind }),
        ...(opts.config === undefined ? {} : { config: parseJsonObject(opts.config, '--config') }),
      } as ChannelCreate;
      const created = unwrap(await ctx.api().POST('/channels', { body }), 'create channel');
      ctx.io.stdout.write(ctx.json ? json(created) : `created channel ${created.id} (${created.kind} ${created.name})\n`);
    });

  channels
    .command('edit')
    .description('rename a channel or change some of its settings; a masked secret sent back is kept')
    .argument('<id>', 'channel id')
    .option('--name <name>', 'new name')
    .option('--config <json>', 'settings to change, laid over the stored ones; null removes an optional one')
    .action(async (raw: string, opts: { name?: string; config?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = parseId(raw, 'ID');
      const body: ChannelPatch = {};
      if (opts.name !== undefined) body.name = opts.name;
      if (opts.config !== undefined) body.config = parseJsonObject(opts.config, '--config');
      if (Object.keys(body).length === 0) throw usageError('nothing to change: give --name or --config');
      const channel = unwrap(await ctx.api().PATCH('/channels/{id}', { params: { path: { id } }, body }), `channel ${id}`);
      ctx.io.stdout.write(ctx.json ? json(channel) : `changed channel ${channel.id}\n`);
    });

  channels
    .command('rm')
    .description('delete a channel (refused while a task still sends to it)')
    .argument('<id>', 'channel id')
    .action(async (raw: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = parseId(raw, 'ID');
      unwrap(await ctx.api().DELETE('/channels/{id}', { params: { path: { id } } }), `channel ${id}`);
      ctx.io.stdout.write(ctx.json ? json({ deleted: id }) : `deleted channel ${id}\n`);
    });

  channels
    .command('test')
    .description('send a test message now; exits 1 when the other side does not accept it')
    .argument('<id>', 'channel id')
    .action(async (raw: string, _opts: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const id = parseId(raw, 'ID');
      const result = unwrap(await ctx.api().POST('/channels/{id}/test', { params: { path: { id } } }), `channel ${id}`);
      if (ctx.json) ctx.io.stdout.write(json(result));
      else if (result.ok) ctx.io.stdout.write(`channel ${id} accepted the test message (${result.status_code ?? '-'}, ${result.duration_ms}ms)\n`);
      if (!result.ok) throw testFailed(id, result.error ?? `answered ${result.status_code ?? 'nothing'}`);
    });
}

function testFailed(id: number, why: string): CliError {
  return new CliError(`channel ${id}: the test message was not accepted: ${why}`, EXIT.failed);
}

/** Where a channel sends, from its masked config: a URL, addresses, or a topic. */
function targetOf(channel: Channel): string {
  const c = channel.config;
  const first = c.url ?? c.webhook_url ?? c.to ?? c.chat_id ?? c.topic;
  if (Array.isArray(first)) return first.join(', ');
  return first === undefined ? '-' : String(first);
}

function channelDetails(c: Channel): string {
  return details([
    ['id', c.id],
    ['name', c.name],
    ['kind', c.kind],
    ...Object.entries(c.config).map(([field, value]): [string, string] => [field, typeof value === 'string' ? value : JSON.stringify(value)]),
    ['created', c.created_at],
    ['updated', c.updated_at],
  ]);
}
