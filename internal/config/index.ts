export { ConfigError, loadConfig, type LoadConfigOptions } from './load.js';
export { redactConfig, redactDsn } from './redact.js';
export { CONFIG_FILE_ENV, type Config, ENV_VARS, type EnvVarName } from './schema.js';
export type { ApiTokenEntry } from './fields.js';
