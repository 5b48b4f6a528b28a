export type { Config } from './config.js';
export type { ApiTokenEntry } from './fields.js';
export { splitHostPort } from './config.js';
export { ConfigError, loadConfig, type LoadConfigOptions } from './load.js';
export { redactConfig, redactDsn } from './redact.js';
export { ENV_VARS, type EnvVarName, CONFIG_FILE_ENV } from './schema.js';
