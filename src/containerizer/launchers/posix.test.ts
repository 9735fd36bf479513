import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ContainerProcess, LaunchError, type LaunchSpec } from '../launcher.js';
import { liveGroupMembers, PosixLauncher, readProcStat } from './posix.js';
import { supervisedCommandLine, supervisorDir } from './posix-supervisor.js';

const launcher = new PosixLauncher();
let dir: string;
const started: ContainerProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-posix-'));
  chmodSync(dir, 0o755);
});

afterEach(async () => {
  // Whatever a test left running dies here: by the pids this file started, nothing else.
  for (const p of started.splice(0)) {
    p.kill('SIGKILL');
    await p.wait();
  }
  rmSync(dir, { recursive: true, force: true });
});

function spec(command: LaunchSpec['command'], extra: Partial<LaunchSpec> = {}): LaunchSpec {
  writeFileSync(join(dir, 'stdout'), '');
  writeFileSync(join(dir, 'stderr'), '');
  return {
    containerId: 'c1',
    command,
    env: { PATH: '/usr/bin:/bin', MARK: 'given' },
    workDir: dir,
    stdoutPath: join(dir, 'stdout'),
    stderrPath: join(dir, 'stderr'),
    ...extra,
  };
}

async function launch(s: LaunchSpec): Promise<ContainerProcess> {
  const p = await launcher.launch(s);
  started.push(p);
  return p;
}

const out = (name = 'stdout'): string => readFileSync(join(dir, name), 'utf8');

/** Alive means it exists and is not a zombie (this machine's init may leave zombies unreaped). */
function alive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

async function until(check: () => boolean, timeoutMs = 1_500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('PosixLauncher', () => {
  it('runs a shell command in the sandbox, output going to the stdout and stderr files', async () => {
    const p = await launch(spec({ shell: true, value: 'echo out; echo err >&2; pwd; exit 0' }));
    expect(await p.wait()).toEqual({ code: 0 });
    expect(out()).toBe(`out\n${dir}\n`);
    expect(out('stderr')).toBe('err\n');
  });

  it('reports the exit code', async () => {
    const p = await launch(spec({ shell: true, value: 'exit 3' }));
    expect(await p.wait()).toEqual({ code: 3 });
  });

  it('gives the process exactly the environment it is told, not the agent’s', async () => {
    process.env['AGORA_LEAK_CHECK'] = 'leaked';
    try {
      const p = await launch(spec({ shell: true, value: 'env' }));
      await p.wait();
    } finally {
      delete process.env['AGORA_LEAK_CHECK'];
    }
    expect(out()).toContain('MARK=given\n');
    expect(out()).not.toContain('AGORA_LEAK_CHECK');
  });

  it('execs the argv form without a shell, arguments[0] as argv[0]', async () => {
    const script = 'echo "$1"; tr "\\0" " " < /proc/$$/cmdline';
    const p = await launch(spec({ shell: false, value: '/bin/sh', argv: ['custom-name', '-c', script, 'zero', 'a b'] }));
    expect(await p.wait()).toEqual({ code: 0 });
    expect(out()).toBe(`a b\ncustom-name -c ${script} zero a b `);
  });

  it('starts the process in its own process group', async () => {
    const p = await launch(spec({ shell: true, value: 'sleep 5' }));
    expect(readProcStat(p.pid)?.pgid).toBe(p.pid);
  });

  it('rejects with the OS error when the executable does not exist', async () => {
    const attempt = launcher.launch(spec({ shell: false, value: '/no/such/binary', argv: ['x'] }));
    await expect(attempt).rejects.toBeInstanceOf(LaunchError);
    await expect(attempt).rejects.toThrow(/\/no\/such\/binary.*ENOENT/);
  });

  it('SIGTERMs the whole group; a group that ignores it dies by SIGKILL', async () => {
    const p = await launch(spec({ shell: true, value: "trap '' TERM; sleep 30 & echo ready; wait; wait" }));
    await until(() => out().includes('ready'));
    p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    expect(alive(p.pid)).toBe(true);
    expect(liveGroupMembers(p.pid)).toBe(2);

    p.kill('SIGKILL');
    expect(await p.wait()).toEqual({ signal: 'SIGKILL' });
    expect(liveGroupMembers(p.pid)).toBe(0);
  });

  it('reports a task stopped by SIGTERM as terminated by that signal', async () => {
    const p = await launch(spec({ shell: true, value: 'echo ready; exec sleep 30' }));
    await until(() => out().includes('ready'));
    p.kill('SIGTERM');
    expect(await p.wait()).toEqual({ signal: 'SIGTERM' });
  });

  it('kills what the main process left behind in its group when it exits', async () => {
    const p = await launch(spec({ shell: true, value: 'sleep 30 & echo $! > bg.pid; exit 0' }));
    expect(await p.wait()).toEqual({ code: 0 });
    const background = Number(out('bg.pid'));
    expect(alive(background)).toBe(false);
    expect(liveGroupMembers(p.pid)).toBe(0);
    p.kill('SIGTERM'); // Harmless once gone.
  });

  it.runIf(process.getuid?.() === 0)('runs as the given user when the agent is root', async () => {
    const p = await launch(spec({ shell: true, value: 'id -u; id -g; id -G' }, { user: { name: 'nobody', uid: 65534, gid: 65534 } }));
    expect(await p.wait()).toEqual({ code: 0 });
    // Supplementary groups are dropped: the task keeps none of root's.
    expect(out()).toBe('65534\n65534\n65534\n');
  });
});

describe('PosixLauncher usage', () => {
  it('sums what /proc says of the group, with the limits asked for (posix enforces none)', async () => {
    const p = await launch(spec({ shell: true, value: 'sleep 5 & sleep 5 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; wait' }, { resources: { cpus: 0.5, memMb: 64 } }));
    await new Promise((r) => setTimeout(r, 200));
    const usage = await p.usage();
    expect(usage?.processes).toBeGreaterThanOrEqual(2);
    expect(usage).toMatchObject({ cpus_limit: 0.5, mem_limit_bytes: 64 * 1024 * 1024 });
    expect(usage?.mem_rss_bytes).toBeGreaterThan(0);
    expect(usage?.cpus_user_time_secs).toBeTypeOf('number');
    p.kill('SIGKILL');
    await p.wait();
    expect(await p.usage()).toBeUndefined();
  });
});

describe('PosixLauncher with a supervisor (recoverable containers)', () => {
  let stateDir: string;
  let supervised: PosixLauncher;
  beforeEach(() => {
    stateDir = join(dir, 'state');
    supervised = new PosixLauncher({ stateDir });
  });

  async function launchSupervised(s: LaunchSpec): Promise<ContainerProcess> {
    const p = await supervised.launch(s);
    started.push(p);
    return p;
  }

  /** What a previous agent left: a supervised container whose parent is not the launcher that recovers it. */
  function startDetached(containerId: string, command: string): number {
    const s = spec({ shell: true, value: command }, { containerId });
    const line = supervisedCommandLine(s, supervisorDir(stateDir, containerId));
    const child = spawn(line.file, line.args, { argv0: line.argv0, cwd: dir, env: s.env, detached: true, stdio: 'ignore' });
    child.unref();
    return child.pid!;
  }

  it('reports the exit code and signal of the task, not of the supervisor, and forgets its record after', async () => {
    const p = await launchSupervised(spec({ shell: true, value: 'exit 3' }));
    expect(await p.wait()).toEqual({ code: 3 });
    const q = await launchSupervised(spec({ shell: true, value: 'echo ready; exec sleep 30' }, { containerId: 'c2' }));
    await until(() => out().includes('ready'));
    q.kill('SIGTERM');
    expect(await q.wait()).toEqual({ signal: 'SIGTERM' });
    await until(() => !existsSync(join(stateDir, 'c1')) && !existsSync(join(stateDir, 'c2')));
  });

  it('keeps argv[0] of the argv form and refuses a missing executable with the OS error', async () => {
    const script = 'tr "\\0" " " < /proc/$$/cmdline';
    const p = await launchSupervised(spec({ shell: false, value: '/bin/sh', argv: ['custom-name', '-c', script] }));
    expect(await p.wait()).toEqual({ code: 0 });
    expect(out()).toBe(`custom-name -c ${script} `);
    await expect(supervised.launch(spec({ shell: false, value: '/no/such/binary', argv: ['x'] }, { containerId: 'c9' }))).rejects.toThrow(
      /\/no\/such\/binary.*ENOENT/,
    );
    expect(existsSync(join(stateDir, 'c9'))).toBe(false);
  });

  it('recovers a container another process started: running (its end seen in the record), ended with its status, or unknown', async () => {
    startDetached('ends', 'sleep 0.3; exit 5');
    const pid = startDetached('runs', 'exec sleep 30');
    startDetached('ended', 'exit 6');
    await until(() => existsSync(join(stateDir, 'ended', 'exit')));

    const ends = await supervised.recover('ends');
    expect(ends.kind).toBe('running');
    if (ends.kind === 'running') expect(await ends.process.wait()).toEqual({ code: 5 });
    expect(await supervised.recover('ended')).toEqual({ kind: 'exited', status: { code: 6 } });
    expect(await supervised.recover('never')).toEqual({ kind: 'gone' });

    const runs = await supervised.recover('runs', { cpus: 0.5 });
    expect(runs.kind).toBe('running');
    if (runs.kind !== 'running') return;
    expect(runs.process.pid).toBe(pid);
    expect((await runs.process.usage())?.cpus_limit).toBe(0.5);
    runs.process.kill('SIGTERM');
    expect(await runs.process.wait()).toEqual({ signal: 'SIGTERM' });
    expect(existsSync(join(stateDir, 'runs'))).toBe(false);
  });

  it('kills the containers recovery did not keep', async () => {
    const kept = startDetached('kept', 'exec sleep 30');
    const orphan = startDetached('orphan', 'exec sleep 30');
    await until(() => alive(kept) && alive(orphan));
    expect(await supervised.cleanupOrphans(new Set(['kept']))).toEqual(['orphan']);
    await until(() => !alive(orphan));
    expect(alive(kept)).toBe(true);
    process.kill(-kept, 'SIGKILL');
  });
});

describe('PosixLauncher recovery without a pid record', () => {
  it('never runs a task whose supervisor directory an orphan cleanup removed before it started', async () => {
    const stateDir = join(dir, 'state');
    const s = spec({ shell: true, value: 'touch ran' }, { containerId: 'removed' });
    const line = supervisedCommandLine(s, supervisorDir(stateDir, 'removed'));
    rmSync(supervisorDir(stateDir, 'removed'), { recursive: true });
    const child = spawn(line.file, line.args, { argv0: line.argv0, cwd: dir, env: s.env, stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(125);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('finds the supervisor by its command line when the agent died before recording its pid', async () => {
    const stateDir = join(dir, 'state');
    const s = spec({ shell: true, value: 'exec sleep 30' }, { containerId: 'unrecorded' });
    const line = supervisedCommandLine(s, supervisorDir(stateDir, 'unrecorded'));
    const child = spawn(line.file, line.args, { argv0: line.argv0, cwd: dir, env: s.env, detached: true, stdio: 'ignore' });
    child.unref();
    // Exec'd: the supervisor's command line is in place.
    await until(() => existsSync(`/proc/${child.pid}/cmdline`) && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes('unrecorded'));
    const recovered = await new PosixLauncher({ stateDir }).recover('unrecorded');
    expect(recovered.kind).toBe('running');
    if (recovered.kind !== 'running') return;
    expect(recovered.process.pid).toBe(child.pid);
    recovered.process.kill('SIGKILL');
    expect(await recovered.process.wait()).toEqual({ signal: 'SIGKILL' });
  });
});
