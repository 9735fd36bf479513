/**
 * Structured JSON logs (pino) for the daemons. A daemon started on its own logs to stderr;
 * `agora local` logs to files in its work dir so the terminal stays readable.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Append JSON lines to this file instead of stderr. */
  file?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env['AGORA_LOG_LEVEL'] ?? 'info';
  if (options.file === undefined) return pino({ name: options.name, level }, pino.destination(2));
  mkdirSync(dirname(options.file), { recursive: true });
  return pino({ name: options.name, level }, pino.destination({ dest: options.file, append: true, mkdir: true }));
}

/** A logger that drops everything, for tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
