/**
 * What the long-running commands share: start a composition root, say where to look, and stop
 * cleanly on SIGINT/SIGTERM (a second signal exits at once). Errors reach the user as one line.
 */
import os from 'node:os';
import { InvalidArgumentError } from 'commander';
import { AgoraError } from '../base/index.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/** Exit code for dying of `signal`, as a shell reports it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 15);
}

/**
 * Runs a daemon until a signal: `start` brings it up, `announce` prints where to look. Resolves
 * with the exit code once it has stopped.
 */
export async function runDaemon<H extends Stoppable>(
  name: string,
  start: () => Promise<H>,
  announce: (handle: H) => void,
): Promise<number> {
  let stopping: NodeJS.Signals | undefined;
  let resolveStop!: (signal: NodeJS.Signals) => void;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (resolveStop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping !== undefined) {
      process.stderr.write(`agora ${name}: ${signal} again, exiting now\n`);
      process.exit(signalExitCode(signal));
    }
    stopping = signal;
    resolveStop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // A signal while starting: finish starting, then stop.
  const handle = await start();
  announce(handle);
  const signal = await stopRequested;
  process.stderr.write(`agora ${name}: ${signal}, stopping (again to exit at once)\n`);
  await handle.stop();
  process.stderr.write(`agora ${name}: stopped\n`);
  return 0;
}

/** One line for any error a command meets: AgoraError and flag errors as they are, others with their code. */
export function describeError(err: unknown): string {
  if (err instanceof AgoraError || err instanceof InvalidArgumentError) return err.message;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE') {
    return `cannot listen on ${e.address ?? ''}:${e.port ?? ''}: the address is in use; pick another with --port (0 = any free port)`;
  }
  if (e.code === 'EADDRNOTAVAIL') {
    return `cannot listen on ${e.address ?? ''}: no such local address; pass an address of this machine with --ip`;
  }
  if (e.code === 'EACCES' && e.syscall === 'listen') {
    return `cannot listen on port ${e.port ?? ''}: permission denied; use a port above 1023`;
  }
  if (e.code === 'EACCES' || e.code === 'EROFS') {
    return `${e.message}; pick a writable directory with --work_dir`;
  }
  return e.message ?? String(err);
}

/** Mesos logging levels (INFO, WARNING, ERROR) and pino's, to pino's. */
export function parseLoggingLevel(text: string): string {
  const t = text.trim().toLowerCase();
  const mapped: Record<string, string> = { warning: 'warn' };
  const level = mapped[t] ?? t;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) {
    throw new InvalidArgumentError(`--logging_level: "${text}" is not a level; use INFO, WARNING or ERROR`);
  }
  return level;
}
