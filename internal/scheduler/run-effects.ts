import type { JsonObject, SlotEffects } from '../store/index.js';

/**
 * What a successful attempt leaves behind besides its output, by the conventions of the handler registry: an `up`
 * boolean is what the check saw (the task's confirmed state follows it through its alert thresholds), `events`
 * are queued for the task's webhook and channels when its `notify.on` lists them, and whatever the handler
 * remembered is kept for its next run. Which events go out, to whom, and when, is decided with the outcome, in the
 * store's transaction (`alert-state.ts`), where the task's alert state is.
 */
export function effectsOf(params: { output: unknown; remembered: JsonObject | undefined }): SlotEffects {
  const { output } = params;
  const fields = output !== null && typeof output === 'object' ? (output as Record<string, unknown>) : {};
  const up = typeof fields.up === 'boolean' ? fields.up : undefined;
  const events = Array.isArray(fields.events) ? fields.events.filter((e): e is string => typeof e === 'string') : [];
  return {
    ...(params.remembered === undefined ? {} : { memory: params.remembered }),
    ...(up === undefined ? {} : { up }),
    ...(events.length === 0 ? {} : { events }),
  };
}
