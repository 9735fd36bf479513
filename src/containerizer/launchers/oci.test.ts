/**
 * The OCI launcher with the real runtime, conmon and cgroups (skipped with the reason when not
 * root or no OCI runtime is installed): exit statuses, stdio in the sandbox, the OOM killer, and
 * the containers a dead agent left behind.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseIsolation, type IsolationChoice } from '../isolation.js';
import type { LaunchSpec } from '../launcher.js';

const root = process.getuid?.() === 0;
const runtime = ['/usr/bin/crun', '/usr/bin/runc', '/usr/local/bin/crun', '/usr/local/bin/runc'].some((p) => existsSync(p));
const skip = !root ? 'not root' : !runtime ? 'neither crun nor runc is installed' : undefined;
if (skip !== undefined) console.log(`oci launcher tests: skipped: ${skip}`);

describe.skipIf(skip !== undefined)('OciLauncher', () => {
  let dir: string;
  let choice: IsolationChoice;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agora-oci-'));
    chmodSync(dir, 0o755);
    choice = await chooseIsolation({ requested: 'oci', runtimeDir: join(dir, 'runtime'), isRoot: true, cgroupsRoot: 'agora-test' });
  });

  afterAll(() => {
    choice?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function spec(containerId: string, command: string, extra: Partial<LaunchSpec> = {}): LaunchSpec {
    const sandbox = join(dir, 'runs', containerId);
    mkdirSync(sandbox, { recursive: true });
    writeFileSync(join(sandbox, 'stdout'), '');
    writeFileSync(join(sandbox, 'stderr'), '');
    return {
      containerId,
      command: { shell: true, value: command },
      env: { PATH: '/usr/bin:/bin' },
      workDir: sandbox,
      stdoutPath: join(sandbox, 'stdout'),
      stderrPath: join(sandbox, 'stderr'),
      resources: { cpus: 0.5, memMb: 32 },
      ...extra,
    };
  }

  it('runs the command with its stdout and stderr in the sandbox files and reports its exit status', async () => {
    const s = spec('exit3', 'echo out; echo err >&2; exit 3');
    const container = await choice.launcher.launch(s);
    expect(await container.wait()).toEqual({ code: 3 });
    expect(readFileSync(s.stdoutPath, 'utf8')).toBe('out\n');
    expect(readFileSync(s.stderrPath, 'utf8')).toBe('err\n');
    expect(await container.usage()).toBeUndefined();
  });

  it("runs as the task's user, in its own pid namespace, with the sandbox writable and the host read-only", async () => {
    const s = spec('nobody', 'id -u; echo $$; touch "$PWD/mine" && touch /etc/agora-must-not-exist 2>/dev/null; echo $?', {
      user: { name: 'nobody', uid: 65534, gid: 65534 },
    });
    chmodSync(s.workDir, 0o777);
    const container = await choice.launcher.launch(s);
    expect(await container.wait()).toEqual({ code: 0 });
    const [uid, pid, touchedEtc] = readFileSync(s.stdoutPath, 'utf8').trim().split('\n');
    expect(uid).toBe('65534');
    // tini is pid 1; the shell is its child.
    expect(Number(pid)).toBeLessThanOrEqual(3);
    expect(touchedEtc).not.toBe('0');
    expect(existsSync(join(s.workDir, 'mine'))).toBe(true);
  });

  it('reports the OOM killer as a memory limitation', async () => {
    const container = await choice.launcher.launch(spec('oom', 'x=a; while true; do x=$x$x; done'));
    expect(await container.wait()).toMatchObject({
      signal: 'SIGKILL',
      limitation: { reason: 'REASON_CONTAINER_LIMITATION_MEMORY', resource: { name: 'mem', valueMb: 32 } },
    });
  });

  it('reports a command that cannot be executed as exit status 127, with the reason in stderr', async () => {
    const s = spec('nocmd', '', { command: { shell: false, value: '/no/such/binary', argv: ['x'] } });
    const container = await choice.launcher.launch(s);
    expect(await container.wait()).toEqual({ code: 127 });
    expect(readFileSync(s.stderrPath, 'utf8')).toMatch(/\/no\/such\/binary.*No such file or directory/);
  });

  it("fails a launch the runtime refuses with the runtime's words, and leaves nothing behind", async () => {
    const attempt = choice.launcher.launch(spec('badroot', 'true', { rootfs: join(dir, 'no-such-rootfs') }));
    await expect(attempt).rejects.toThrow(/Failed to start container badroot with (crun|runc): .*no-such-rootfs/);
    expect(existsSync(join(dir, 'runtime', 'containers', 'badroot'))).toBe(false);
  });

  it('recovers, at the next start, a container still running and one that ended meanwhile with its status', async () => {
    const runtimeDir = join(dir, 'runtime-3');
    const first = await chooseIsolation({ requested: 'oci', runtimeDir, isRoot: true, cgroupsRoot: 'agora-test' });
    const long = await first.launcher.launch(spec('long', 'sleep 60'));
    await first.launcher.launch(spec('short', 'exit 7'));
    first.close(); // the agent dies; conmon keeps the containers
    await new Promise((r) => setTimeout(r, 300));

    const second = await chooseIsolation({ requested: 'oci', runtimeDir, isRoot: true, cgroupsRoot: 'agora-test' });
    try {
      expect(await second.launcher.recover!('short')).toEqual({ kind: 'exited', status: { code: 7 } });
      const running = await second.launcher.recover!('long');
      expect(running.kind).toBe('running');
      if (running.kind !== 'running') return;
      expect(running.process.pid).toBe(long.pid);
      expect(await second.launcher.recover!('never-launched')).toEqual({ kind: 'gone' });
      running.process.kill('SIGKILL');
      expect(await running.process.wait()).toEqual({ signal: 'SIGKILL' });
      expect(existsSync(join(runtimeDir, 'containers', 'long'))).toBe(false);
    } finally {
      second.close();
    }
  });

  it('removes, at the next start, the containers a dead agent left running that recovery did not keep', async () => {
    const runtimeDir = join(dir, 'runtime-2');
    const first = await chooseIsolation({ requested: 'oci', runtimeDir, isRoot: true, cgroupsRoot: 'agora-test' });
    const container = await first.launcher.launch(spec('leftover', 'sleep 60'));
    first.close(); // the agent dies; conmon keeps the container
    expect(existsSync(`/proc/${container.pid}`)).toBe(true);

    const second = await chooseIsolation({ requested: 'oci', runtimeDir, isRoot: true, cgroupsRoot: 'agora-test' });
    expect(await second.launcher.cleanupOrphans!(new Set())).toEqual(['leftover']);
    second.close();
    const deadline = Date.now() + 5_000;
    while (existsSync(`/proc/${container.pid}/cmdline`) && readFileSync(`/proc/${container.pid}/cmdline`).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(existsSync(join(runtimeDir, 'containers', 'leftover'))).toBe(false);
    const alive = existsSync(`/proc/${container.pid}/status`) && !/State:\s+Z/.test(readFileSync(`/proc/${container.pid}/status`, 'utf8'));
    expect(alive).toBe(false);
  });
});
