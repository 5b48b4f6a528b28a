import type { Config } from './schema.js';

const MASK = '***';

/** Replaces the password of a URL-style DSN with a mask; leaves anything unparsable fully masked. */
export function redactDsn(dsn: string): string {
  try {
    const url = new URL(dsn);
    if (url.password !== '') url.password = MASK;
    return url.toString();
  } catch {
    return MASK;
  }
}

/** A copy of the config that is safe to log: passwords, tokens and secrets are masked. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    mysql: config.mysql && { ...config.mysql, dsn: redactDsn(config.mysql.dsn) },
    redis: config.redis && {
      ...config.redis,
      password: config.redis.password === undefined ? undefined : MASK,
      ...(config.redis.topology === 'sentinel'
        ? { sentinelPassword: config.redis.sentinelPassword === undefined ? undefined : MASK }
        : {}),
    },
    apiTokens: config.apiTokens.map((t) => ({ name: t.name, scope: t.scope, token: MASK })),
    webhook: { ...config.webhook, secret: config.webhook.secret === undefined ? undefined : MASK },
  };
}
