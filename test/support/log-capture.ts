import { Writable } from 'node:stream';
import { type Logger, createLogger } from '../../internal/platform/logger.js';

/** A real pino logger (redaction included) whose lines are kept in memory, for tests that grep the logs. */
export function capturingLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line !== ''));
      callback();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}
