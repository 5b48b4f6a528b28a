export { HandlerRegistry, defineTaskType, type PayloadCheck, type RunContext, type TaskType } from './registry.js';
export { noopType } from './noop.js';
export { NOTIFY_EVENTS, type NotifyEvent, eventsFor } from './events.js';
export { type RunTarget, hostOf, hostLimitSchema, runTargetOf } from './host-limit.js';
