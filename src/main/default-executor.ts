#!/usr/bin/env node
/**
 * Entry of agora's default executor process (src/executor/default-executor.ts). The agent starts
 * it for ExecutorInfo.type DEFAULT with the Mesos executor environment (facts 2.1), from which it
 * takes everything it needs; it logs JSON lines to its sandbox's stderr.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Volume } from '../api/index.js';
import { parseDurationMs } from '../base/index.js';
import { DefaultExecutor } from '../executor/default-executor.js';
import { createLogger } from './logging.js';

/** How an agent runs this entry: this process's node, this file (through tsx when run from source). */
export function defaultExecutorCommand(): { shell: false; value: string; argv: string[] } {
  const entry = fileURLToPath(import.meta.url);
  // createRequire, not import.meta.resolve: the latter is missing where this module is itself
  // loaded through a bundler's transform (vitest), and the agent starts executors from there too.
  const loader = entry.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  return { shell: false, value: process.execPath, argv: ['node', ...loader, entry] };
}

/**
 * agora's install (dist or src, with node_modules), bound read-only at its own path into the
 * default executor's container: the container sees the host's directories but has its own /tmp,
 * and an install may live there (a CI checkout, `npx`).
 */
export function defaultExecutorMounts(): Array<{ destination: string; type: string; source: string; options: string[] }> {
  const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
  return [{ destination: root, type: 'bind', source: root, options: ['rbind', 'ro'] }];
}

/**
 * agora's install (its dist or src, and node_modules), bound read-only at its own path into the
 * default executor's OCI container: that container sees the host's directories but has its own
 * /tmp, and an install may live there (a CI checkout, an npx cache).
 */
export function defaultExecutorVolumes(): Volume[] {
  const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
  return [{ container_path: root, mode: 'RO', source: { type: 'HOST_PATH', host_path: { path: root } } }];
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    process.stderr.write(`agora default executor: ${name} is not set; the agent sets it when it starts an executor\n`);
    process.exit(1);
  }
  return value;
}

function durationMs(name: string, fallbackMs: number): number {
  const text = process.env[name];
  if (text === undefined) return fallbackMs;
  const parsed = parseDurationMs(text);
  return typeof parsed === 'number' ? parsed : fallbackMs;
}

async function main(): Promise<void> {
  const logger = createLogger({ name: 'default-executor' });
  const executor = new DefaultExecutor({
    agentUrl: `http://${env('MESOS_AGENT_ENDPOINT')}`,
    frameworkId: env('MESOS_FRAMEWORK_ID'),
    executorId: env('MESOS_EXECUTOR_ID'),
    sandbox: env('MESOS_SANDBOX'),
    checkpoint: process.env['MESOS_CHECKPOINT'] === '1',
    shutdownGraceMs: durationMs('MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', 5_000),
    recoveryTimeoutMs: durationMs('MESOS_RECOVERY_TIMEOUT', 15 * 60_000),
    subscriptionBackoffMaxMs: durationMs('MESOS_SUBSCRIPTION_BACKOFF_MAX', 2_000),
    clock: { monotonicMs: () => performance.now(), realtimeMs: () => Date.now() },
    ...(process.env['MESOS_CONTAINER_IP'] ? { containerIp: process.env['MESOS_CONTAINER_IP'] } : {}),
    log: (message, fields) => logger.info(fields ?? {}, message),
  });
  const code = await executor.run();
  logger.flush();
  process.exit(code);
}

// Run only as the process's entry: the agent imports defaultExecutorCommand() from here.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  void main();
}
