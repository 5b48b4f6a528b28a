import { z } from 'zod';
import { defineTaskType } from './registry.js';

/** Does nothing and succeeds: for smoke tests and benchmarks. */
export const noopType = defineTaskType({
  name: 'noop',
  description: 'Does nothing and succeeds; for smoke tests and benchmarks.',
  payloadSchema: z.object({}).strict(),
  run: async () => ({ ok: true }),
});
