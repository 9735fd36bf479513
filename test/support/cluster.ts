/**
 * Starts `agora local` as a real process (the built CLI in dist/), reads the master's URL from
 * its stdout, waits until its agents are registered, and stops it by the pid it started,
 * checking that no process it spawned (tasks included) outlives it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { request } from '../../src/http/index.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'cli', 'main.js');

/** Resources each test agent offers: fixed, so tests do not depend on the machine's size. */
export const TEST_AGENT_RESOURCES = 'cpus:8;mem:8192;disk:8192;ports:[31000-32000]';

export interface ClusterOptions {
  agents?: number;
  /** What each agent offers; null for this machine's real resources. */
  resources?: string | null;
  /** null for the master's default (1secs). */
  allocationInterval?: string | null;
  extraArgs?: string[];
  /** Run src/cli/main.ts through tsx instead of the built dist/ (for benchmarks, no build needed). */
  fromSource?: boolean;
  /**
   * `--isolation` of the agents: posix by default, so tests that look at task processes from the
   * host (pids, /tmp files) see them as they are; the OCI tests ask for oci.
   */
  isolation?: 'posix' | 'oci';
  /** Reuse this work dir (a restart after a crash); default: a fresh temporary one. */
  workDir?: string;
}

export interface Cluster {
  /** `http://127.0.0.1:PORT` */
  masterUrl: string;
  /** `127.0.0.1:PORT`, as `--master` takes it. */
  master: string;
  workDir: string;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (or `signal`), wait for exit; resolves with how it exited. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the built `agora` CLI (or its source, through tsx) with `args`; the caller owns the child. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, fromSource = false): ChildProcess {
  if (!fromSource && !existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does it)`);
  const entry = fromSource ? ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts')] : [CLI];
  // e.g. AGORA_CLI_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the daemon.
  const nodeArgs = (process.env['AGORA_CLI_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  return spawn(process.execPath, [...nodeArgs, ...entry, ...args], {
    cwd: REPO,
    env: { ...process.env, AGORA_LOG_LEVEL: process.env['AGORA_LOG_LEVEL'] ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, options.env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agora ${args.join(' ')} did not exit within ${options.timeoutMs ?? 30_000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    // 'close' comes after the exit and after the last output.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(os.tmpdir(), `agora-test-${prefix}-`));
}

/** Starts `agora local --port 0` and waits until `agents` agents are registered. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const agents = options.agents ?? 1;
  const workDir = options.workDir ?? tempDir('cluster');
  const resources = options.resources === undefined ? TEST_AGENT_RESOURCES : options.resources;
  const interval = options.allocationInterval === undefined ? '200ms' : options.allocationInterval;
  const child = spawnCli(
    [
      'local',
      '--port',
      '0',
      '--work-dir',
      workDir,
      '--agents',
      String(agents),
      ...(resources === null ? [] : ['--resources', resources]),
      ...(interval === null ? [] : ['--allocation_interval', interval]),
      '--isolation',
      options.isolation ?? 'posix',
      ...(options.extraArgs ?? []),
    ],
    {},
    options.fromSource ?? false,
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );

  const masterUrl = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`agora local printed no master URL in 20 s\n${stdout}\n${stderr}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const match = /^\s*master\s+(http:\/\/\S+)/m.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`agora local exited (${code ?? signal}) before it was ready\n${stdout}\n${stderr}`));
    });
  });

  const cluster: Cluster = {
    masterUrl,
    master: masterUrl.replace(/^http:\/\//, ''),
    workDir,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000));
      const result = await Promise.race([exited, timeout]);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(`agora local (pid ${child.pid}) did not stop within 15 s of ${signal}\n${stderr.slice(-2000)}`);
      }
      return result;
    },
  };
  try {
    await waitUntil(async () => (await masterState(cluster)).slaves.length >= agents, 20_000, `${agents} agent(s) registered`);
  } catch (err) {
    await cluster.stop('SIGKILL').catch(() => undefined);
    throw err;
  }
  return cluster;
}

/**
 * Stops the cluster, asserts it exited cleanly and left no process behind, then removes its
 * work dir. Use in afterAll.
 */
export async function stopCluster(cluster: Cluster | undefined): Promise<void> {
  if (cluster === undefined) return;
  const result = await cluster.stop();
  const leftovers = await waitForNoProcessesUnder(cluster.workDir, 5_000);
  if (result.code !== 0) {
    throw new Error(`agora local exited with ${result.code ?? result.signal} on SIGTERM\n${cluster.stderr().slice(-2000)}`);
  }
  if (leftovers.length > 0) {
    for (const p of leftovers) killQuietly(p.pid);
    throw new Error(`processes outlived agora local: ${leftovers.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
  }
  rmSync(cluster.workDir, { recursive: true, force: true });
}

export interface ProcessInfo {
  pid: number;
  cmdline: string;
}

/**
 * Processes whose working directory or environment points into `dir`: task processes run in
 * sandboxes under the agent's work dir, with MESOS_SANDBOX set there.
 */
export function processesUnder(dir: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cwd.startsWith(dir) || environ.includes(dir)) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        const state = /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        if (state !== 'Z') found.push({ pid, cmdline });
      }
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

export async function waitForNoProcessesUnder(dir: string, timeoutMs: number): Promise<ProcessInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesUnder(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(100);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie is dead for our purposes.
    return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// ----- HTTP helpers ----------------------------------------------------------------------

export interface MasterState {
  slaves: Array<{ id: string; hostname: string; active: boolean; resources: Record<string, unknown> }>;
  frameworks: Array<StateFramework>;
  completed_frameworks: Array<StateFramework>;
  [key: string]: unknown;
}

export interface StateTask {
  id: string;
  name: string;
  state: string;
  framework_id: string;
  slave_id: string;
  statuses?: Array<{ state: string }>;
}

export interface StateFramework {
  id: string;
  name: string;
  active: boolean;
  connected?: boolean;
  tasks: StateTask[];
  completed_tasks: StateTask[];
  [key: string]: unknown;
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await request(url, undefined, { timeoutMs: 10_000 });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${response.text}`);
  return JSON.parse(response.text) as T;
}

export function masterState(cluster: Cluster): Promise<MasterState> {
  return getJson<MasterState>(`${cluster.masterUrl}/master/state`);
}

export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
