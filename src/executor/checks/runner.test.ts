/**
 * The runners against real processes: an HTTP server and a TCP listener as tasks, COMMAND checks
 * in a task's environment and working directory, and (as root) a task with its own network and
 * mount namespaces, reached only from inside them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CommandInfo } from '../../api/index.js';
import type { Probe } from './policy.js';
import { runHealthCheck } from './driver.js';
import type { HealthUpdate } from './health.js';
import { probeRunner, runProbe, type ProbeTarget } from './runner.js';
import { systemTimers } from './timers.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A "task": a process group whose first stdout line is returned (e.g. the port it listens on). */
async function startTask(file: string, args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) {
  const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env: options.env ?? process.env, cwd: options.cwd });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    child.once('exit', (code) => reject(new Error(`task exited (${code}) before it was ready`)));
  });
  return { pid: child.pid!, line };
}

const HTTP_SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/moved') { res.writeHead(302, { Location: '/ok' }); return res.end(); }
  if (req.url === '/loop') { res.writeHead(301, { Location: '/loop' }); return res.end(); }
  res.writeHead(req.url === '/ok' ? 200 : 404);
  res.end();
}).listen(Number(process.argv[1] || 0), '127.0.0.1', function () { console.log(this.address().port); });`;

const TCP_SERVER = `require('node:net').createServer((s) => s.end()).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

function probe(target: ProbeTarget, p: Probe, timeoutMs = 10_000) {
  return runProbe(p, target, AbortSignal.timeout(timeoutMs));
}

function tmp(): string {
  const dir = realpathSync(mkdtempSync(join(os.tmpdir(), 'agora-checks-')));
  dirs.push(dir);
  return dir;
}

/** A port nothing listens on (one the kernel just handed out and took back). */
async function closedPort(): Promise<number> {
  const { line, pid } = await startTask(process.execPath, ['-e', TCP_SERVER]);
  process.kill(-pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  return Number(line);
}

const http = (port: number, path: string): Probe => ({ type: 'HTTP', scheme: 'http', host: '127.0.0.1', port, path });
const command = (value: string, extra: Partial<CommandInfo> = {}): Probe => ({ type: 'COMMAND', command: { value, ...extra } });

describe('HTTP probes', () => {
  it('GETs 127.0.0.1:<port><path>, follows redirects and reports the final status', async () => {
    const task = await startTask(process.execPath, ['-e', HTTP_SERVER]);
    const port = Number(task.line);
    expect(await probe({ pid: task.pid }, http(port, '/ok'))).toEqual({ type: 'HTTP', statusCode: 200 });
    expect(await probe({ pid: task.pid }, http(port, '/moved'))).toEqual({ type: 'HTTP', statusCode: 200 });
    expect(await probe({ pid: task.pid }, http(port, '/missing'))).toEqual({ type: 'HTTP', statusCode: 404 });
    expect(await probe({ pid: task.pid }, http(port, '/loop'))).toEqual({ type: 'failed', message: 'more than 50 redirects' });
  });

  it('fails when nothing answers, and stops when aborted', async () => {
    const port = await closedPort();
    expect(await probe({}, http(port, '/'))).toEqual({ type: 'failed', message: `connect ECONNREFUSED 127.0.0.1:${port}` });
    // A listener that never answers: the probe is aborted by its timeout.
    const silent = await startTask(process.execPath, ['-e', `require('node:net').createServer(() => {}).listen(0, '127.0.0.1', function () { console.log(this.address().port); })`]);
    const started = Date.now();
    expect(await probe({ pid: silent.pid }, http(Number(silent.line), '/'), 300)).toEqual({ type: 'failed', message: 'aborted' });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('the driver with real timers and the runner (as the default executor uses them)', () => {
  it('reports a task healthy, then unhealthy once its server is gone, and asks for the kill', async () => {
    const task = await startTask(process.execPath, ['-e', HTTP_SERVER]);
    const updates: HealthUpdate[] = [];
    const handle = runHealthCheck({
      healthCheck: { type: 'HTTP', http: { port: Number(task.line), path: '/ok' }, delay_seconds: 0, interval_seconds: 0.1, grace_period_seconds: 0, consecutive_failures: 2 },
      runProbe: probeRunner({ pid: task.pid }),
      clock: { monotonicMs: () => performance.now(), realtimeMs: () => Date.now() },
      timers: systemTimers,
      onUpdate: (u) => updates.push(u),
    });
    await waitFor(() => updates.length === 1);
    expect(updates[0]).toMatchObject({ healthy: true });
    process.kill(-task.pid, 'SIGKILL');
    await waitFor(() => updates.length === 3);
    expect(updates.slice(1).map((u) => [u.healthy, u.consecutiveFailures, u.kill])).toEqual([
      [false, 1, false],
      [false, 2, true],
    ]);
    handle.stop();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('TCP probes', () => {
  it('succeed when a connection is established, fail when refused', async () => {
    const task = await startTask(process.execPath, ['-e', TCP_SERVER]);
    expect(await probe({ pid: task.pid }, { type: 'TCP', host: '127.0.0.1', port: Number(task.line) })).toEqual({ type: 'TCP', succeeded: true });
    const port = await closedPort();
    expect(await probe({}, { type: 'TCP', host: '127.0.0.1', port })).toEqual({ type: 'TCP', succeeded: false, message: 'ECONNREFUSED' });
  });
});

describe('COMMAND probes', () => {
  it("run with the task's environment and working directory, plus the check's own variables", async () => {
    const dir = tmp();
    const task = await startTask('/bin/sh', ['-c', 'echo ready; exec sleep 60'], { env: { PATH: process.env['PATH']!, TASK_VAR: 'from-task' }, cwd: dir });
    const check = command('test "$TASK_VAR" = from-task && test "$CHECK_VAR" = from-check && test "$(pwd)" = "$EXPECTED"', {
      environment: { variables: [{ name: 'CHECK_VAR', value: 'from-check' }, { name: 'EXPECTED', value: dir }] },
    });
    expect(await probe({ pid: task.pid }, check)).toEqual({ type: 'COMMAND', exitCode: 0, output: '' });
  });

  it('report the exit status with the tail of the output', async () => {
    expect(await probe({}, command('echo not ready >&2; exit 3'))).toEqual({ type: 'COMMAND', exitCode: 3, output: 'not ready' });
  });

  it('run an executable with arguments when shell is false', async () => {
    expect(await probe({}, command('/bin/sh', { shell: false, arguments: ['sh', '-c', 'exit 7'] }))).toMatchObject({ exitCode: 7 });
  });

  it('fail when the executable cannot be started', async () => {
    expect(await probe({}, command('/no/such/binary', { shell: false }))).toEqual({
      type: 'failed',
      message: 'cannot run /no/such/binary: spawn /no/such/binary ENOENT',
    });
  });

  it('kill the whole process group when aborted', async () => {
    const dir = tmp();
    const started = Date.now();
    const result = await probe({}, command(`sleep 30 & echo $! > ${dir}/pid; wait`), 500);
    expect(result).toEqual({ type: 'failed', message: 'aborted' });
    expect(Date.now() - started).toBeLessThan(5000);
    const pid = Number(readFileSync(`${dir}/pid`, 'utf8').trim());
    await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(pid)).toBe(false);
  });

  it("fail with a message when the task's process is gone", async () => {
    const gone = await startTask('/bin/sh', ['-c', 'echo ready']);
    await new Promise((r) => setTimeout(r, 200));
    const result = await probe({ pid: gone.pid }, command('true'));
    expect(result).toMatchObject({ type: 'failed' });
    expect((result as { message: string }).message).toContain(`cannot inspect the task's process ${gone.pid}`);
  });
});

/** Alive and not a zombie (an orphan may wait a while for a reaper). */
function isAlive(pid: number): boolean {
  try {
    return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const asRoot = process.getuid?.() === 0 && commandWorks('unshare', ['--version']) && commandWorks('nsenter', ['--version']);

function commandWorks(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!asRoot)("probes inside a task's namespaces (root)", () => {
  it('reach an HTTP server and a TCP port in the task\'s own network namespace, which the host cannot', async () => {
    const port = await closedPort();
    // The task: a new network namespace with loopback up, then the server on a port the host has free.
    const task = await startTask('unshare', ['--net', '/bin/sh', '-c', `ip link set lo up && exec "${process.execPath}" -e "$0" ${port}`, HTTP_SERVER]);
    expect(Number(task.line)).toBe(port);
    expect(await probe({}, http(port, '/ok'))).toMatchObject({ type: 'failed' });
    expect(await probe({ pid: task.pid }, http(port, '/ok'))).toEqual({ type: 'HTTP', statusCode: 200 });
    expect(await probe({ pid: task.pid }, http(port, '/moved'))).toEqual({ type: 'HTTP', statusCode: 200 });
    expect(await probe({ pid: task.pid }, { type: 'TCP', host: '127.0.0.1', port })).toEqual({ type: 'TCP', succeeded: true });
    expect(await probe({ pid: task.pid }, { type: 'TCP', host: '127.0.0.1', port: port === 65535 ? 1 : port + 1 })).toEqual({
      type: 'TCP',
      succeeded: false,
      message: 'ECONNREFUSED',
    });
  });

  it("run a COMMAND in the task's mount and pid namespaces, as its user", async () => {
    const dir = tmp();
    // The task: its own mount namespace with a tmpfs over `dir` holding a file the host cannot see,
    // its own pid namespace (it is pid 1 there), running as nobody.
    const script = `mount -t tmpfs tmpfs ${dir} && touch ${dir}/inside && echo ready && exec setpriv --reuid=65534 --regid=65534 --clear-groups sleep 60`;
    const task = await startTask('unshare', ['--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', '/bin/sh', '-c', script]);
    // `unshare --fork` waits for its child, the task's process (sh, then setpriv, then sleep).
    const taskPid = Number(readFileSync(`/proc/${task.pid}/task/${task.pid}/children`, 'utf8').trim());
    await new Promise((r) => setTimeout(r, 200));
    expect(await probe({ pid: taskPid }, command(`test -f ${dir}/inside`))).toMatchObject({ type: 'COMMAND', exitCode: 0 });
    expect(await probe({ pid: taskPid }, command('test "$(id -u)" = 65534'))).toMatchObject({ exitCode: 0 });
    // pid 1 of its pid namespace is the task's sleep: the check sees the task's processes.
    expect(await probe({ pid: taskPid }, command('grep -q sleep /proc/1/cmdline'))).toMatchObject({ exitCode: 0 });
    expect(await probe({}, command(`test -f ${dir}/inside`))).toMatchObject({ exitCode: 1 });
  });
});
