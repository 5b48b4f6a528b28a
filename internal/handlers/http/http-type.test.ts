import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OutboundPolicy } from '../outbound/outbound-policy.js';
import { type LocalServer, reply, startServer } from '../outbound/test-support.js';
import { HandlerRegistry, type RunContext } from '../registry.js';
import type { HttpCheckOutput } from './http-check.js';
import { createHttpType } from './http-type.js';

const policy = new OutboundPolicy([]);
const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => policy.close());

function context(extra: Partial<RunContext> = {}): RunContext & { remembered: Record<string, unknown>[] } {
  const remembered: Record<string, unknown>[] = [];
  return {
    signal: new AbortController().signal,
    task: { id: 1, name: 'probe', type: 'http', timeoutMs: 5_000, attempt: 1, slot: new Date() },
    logger: pino({ level: 'silent' }),
    memory: null,
    remember: (value) => remembered.push(value),
    remembered,
    ...extra,
  };
}

describe('the http task type', () => {
  it('registers as http and runs a checked payload, resolving with the output only', async () => {
    const server = await startServer((_req, res) => reply(res, 200, 'fine'));
    servers.push(server);
    const registry = new HandlerRegistry().register(createHttpType({ policy }));
    const type = registry.get('http');
    const check = registry.checkPayload('http', { url: server.origin });
    if (type === undefined || !check.ok) throw new Error('http type not usable');

    const ctx = context();
    const output = (await type.run(check.payload, ctx)) as HttpCheckOutput;
    expect(output).toMatchObject({ up: true, status_code: 200, events: [] });
    expect(output).not.toHaveProperty('memory');
    expect(type.usesMemory).toBe(true);
    // The memory for the next run goes to the executor through remember(), not in the output.
    expect(ctx.remembered).toHaveLength(1);
    expect(ctx.remembered[0]).toMatchObject({ up: true, hash: output.content_hash });
  });

  it('uses memory when the context carries it, and ignores memory it cannot read', async () => {
    const server = await startServer((_req, res) => reply(res, 200));
    servers.push(server);
    const type = createHttpType({ policy });
    const payload = type.payloadSchema.parse({ url: server.origin });

    const recovered = (await type.run(payload, context({ memory: { up: false } }))) as HttpCheckOutput;
    expect(recovered.events).toEqual(['up']);

    const garbled = (await type.run(payload, context({ memory: { up: 'yes', seen_ids: 7 } }))) as HttpCheckOutput;
    expect(garbled.events).toEqual([]);
  });
});
