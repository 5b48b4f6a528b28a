import { z } from 'zod';
import { monitorsFileSchema } from '../api/monitors-file.js';
import { createHttpType } from '../handlers/http/index.js';
import { HandlerRegistry, noopType } from '../handlers/index.js';
import { OutboundPolicy } from '../handlers/outbound/index.js';

/**
 * The JSON Schema of a monitors file (`docs/monitors.schema.json`), generated with `z.toJSONSchema` from the same
 * zod schemas that check `POST /tasks`. Each built-in type's payload schema is added under `$defs` and applied
 * when `type` names it, so that an editor checks `payload.url` of an `http` monitor too.
 */
export async function monitorsFileJsonSchema(): Promise<Record<string, unknown>> {
  const outbound = new OutboundPolicy();
  try {
    const registry = new HandlerRegistry().register(noopType).register(createHttpType({ policy: outbound }));
    const schema = z.toJSONSchema(monitorsFileSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as {
      $defs?: Record<string, Record<string, unknown>>;
    } & Record<string, unknown>;
    const defs = (schema.$defs ??= {});
    const conditions: unknown[] = [];
    for (const name of registry.names()) {
      const type = registry.get(name);
      if (type === undefined) continue;
      const payload = z.toJSONSchema(type.payloadSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
      delete payload.$schema;
      defs[`Payload_${name}`] = payload;
      conditions.push({
        if: { properties: { type: { const: name } }, required: ['type'] },
        then: { properties: { payload: { $ref: `#/$defs/Payload_${name}` } } },
      });
    }
    const monitor = defs.Monitor;
    if (monitor !== undefined && conditions.length > 0) monitor.allOf = conditions;
    return schema;
  } finally {
    await outbound.close();
  }
}
