import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths pino masks in every log line, whatever logs them. */
const REDACT_PATHS = [
  'password',
  '*.password',
  'dsn',
  '*.dsn',
  'token',
  '*.token',
  'apiTokens',
  '*.apiTokens',
  'webhookSecret',
  '*.webhookSecret',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
];

export interface LoggerOptions {
  /** pino level. Default `info`. */
  level?: string;
  /** Extra fields on every line, such as the process role. */
  base?: Record<string, unknown>;
  /**
   * Where lines go; defaults to stdout, written asynchronously (lines logged while a write is under way go out
   * together in the next one, and whatever is pending is flushed when the process exits). Tests pass a stream to
   * capture them.
   */
  destination?: pino.DestinationStream;
}

/** Creates the process logger: JSON lines, ISO times, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '***' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything, for tests and tools that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
