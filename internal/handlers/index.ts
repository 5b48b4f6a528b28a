export { HandlerRegistry, defineTaskType, type PayloadCheck, type RunContext, type TaskType } from './registry.js';
export { noopType } from './noop.js';
