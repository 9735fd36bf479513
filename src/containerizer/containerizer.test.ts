import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Container, Containerizer } from './containerizer.js';
import type { Isolator, LaunchPatch } from './isolator.js';
import { LaunchError } from './launcher.js';
import { PosixLauncher } from './launchers/posix.js';
import { parsePasswd } from './users.js';

const containerizer = new Containerizer(new PosixLauncher());
const isRoot = process.getuid?.() === 0;
let workDir: string;
const started: Container[] = [];

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-containerizer-'));
  chmodSync(workDir, 0o755);
});

afterEach(async () => {
  for (const c of started.splice(0)) {
    c.kill('SIGKILL');
    await c.wait();
  }
  rmSync(workDir, { recursive: true, force: true });
});

const runDir = (containerId: string): string => join(workDir, 'slaves/S0/frameworks/f1/executors/t1/runs', containerId);

async function launch(containerId: string, value: string, user?: string): Promise<Container> {
  const c = await containerizer.launch({
    containerId,
    directory: runDir(containerId),
    command: { shell: true, value },
    env: { PATH: '/usr/bin:/bin' },
    ...(user === undefined ? {} : { user }),
  });
  started.push(c);
  return c;
}

describe('Containerizer', () => {
  it('creates the sandbox with stdout, stderr and runs/latest pointing at the newest run', async () => {
    const first = await launch('c1', 'echo one');
    await first.wait();
    expect(readFileSync(join(runDir('c1'), 'stdout'), 'utf8')).toBe('one\n');
    expect(readlinkSync(join(runDir('c1'), '..', 'latest'))).toBe('c1');

    const second = await launch('c2', 'echo two >&2');
    await second.wait();
    expect(readFileSync(join(runDir('c2'), 'stderr'), 'utf8')).toBe('two\n');
    expect(readlinkSync(join(runDir('c2'), '..', 'latest'))).toBe('c2');
  });

  it('sets USER and LOGNAME to the user the task runs as', async () => {
    const c = await launch('c1', 'echo "$USER $LOGNAME"');
    await c.wait();
    expect(readFileSync(join(runDir('c1'), 'stdout'), 'utf8')).toBe(`${c.user} ${c.user}\n`);
  });

  it.runIf(isRoot)('refuses a user that does not exist, naming it', async () => {
    const attempt = launch('c1', 'true', 'no-such-user-agora');
    await expect(attempt).rejects.toBeInstanceOf(LaunchError);
    await expect(attempt).rejects.toThrow(/'no-such-user-agora': no such user/);
  });

  it.runIf(isRoot)('runs as the task user and hands it the sandbox', async () => {
    const c = await launch('c1', 'id -un; touch mine');
    expect(await c.wait()).toEqual({ code: 0 });
    expect(c.user).toBe('root');
    const nobody = await launch('c2', 'id -un; touch mine', 'nobody');
    expect(await nobody.wait()).toEqual({ code: 0 });
    expect(readFileSync(join(runDir('c2'), 'stdout'), 'utf8')).toBe('nobody\n');
    expect(statSync(runDir('c2')).uid).toBe(65534);
    expect(statSync(join(runDir('c2'), 'mine')).uid).toBe(65534);
  });
});

describe('parsePasswd', () => {
  it('reads name, uid, gid and home, skipping comments and broken lines', () => {
    const text = '# comment\nroot:x:0:0:root:/root:/bin/bash\nbroken\nalice:x:1000:100:Alice:/home/alice:/bin/sh\n';
    expect(parsePasswd(text)).toEqual([
      { name: 'root', uid: 0, gid: 0, home: '/root' },
      { name: 'alice', uid: 1000, gid: 100, home: '/home/alice' },
    ]);
  });
});

describe('Containerizer isolators and limits', () => {
  function recordingIsolator(name: string, log: string[], patch: LaunchPatch | undefined): Isolator {
    return {
      name,
      prepare: async () => {
        log.push(`prepare ${name}`);
        return patch;
      },
      cleanup: async () => void log.push(`cleanup ${name}`),
    };
  }

  it('applies isolators in order and cleans them up in reverse once the container is gone', async () => {
    const log: string[] = [];
    const c = new Containerizer(new PosixLauncher(), {
      isolators: [recordingIsolator('a', log, { env: { PATH: '/usr/bin:/bin', FROM: 'a' } }), recordingIsolator('b', log, undefined)],
    });
    const container = await c.launch({ containerId: 'i1', directory: runDir('i1'), command: { shell: true, value: 'echo $FROM' }, env: {} });
    expect(await container.wait()).toEqual({ code: 0 });
    expect(readFileSync(join(runDir('i1'), 'stdout'), 'utf8')).toBe('a\n');
    expect(log).toEqual(['prepare a', 'prepare b', 'cleanup b', 'cleanup a']);
  });

  it('refuses what the posix launcher cannot give, naming the fix, and cleans up', async () => {
    const log: string[] = [];
    const volume = { destination: '/data', type: 'bind', source: '/srv', options: ['rbind'] };
    const c = new Containerizer(new PosixLauncher(), { isolators: [recordingIsolator('v', log, { mounts: [volume] })] });
    const attempt = c.launch({ containerId: 'i2', directory: runDir('i2'), command: { shell: true, value: 'true' }, env: {} });
    await expect(attempt).rejects.toThrow(/volumes, which needs --isolation=oci/);
    expect(log).toEqual(['prepare v', 'cleanup v']);
    const image = c.launch({
      containerId: 'i3',
      directory: runDir('i3'),
      command: { shell: true, value: 'true' },
      env: {},
      containerInfo: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'busybox' } } } },
    });
    await expect(image).rejects.toThrow(/images need --isolation=oci/);
  });

  it('measures the sandbox and reports a container over its disk', async () => {
    const c = new Containerizer(new PosixLauncher(), { diskWatchIntervalMs: 50 });
    const limited = new Promise<{ containerId: string; reason: string; message: string }>((resolve) =>
      c.onLimitation((containerId, limitation) => resolve({ containerId, ...limitation })),
    );
    const container = await c.launch({
      containerId: 'd1',
      directory: runDir('d1'),
      command: { shell: true, value: 'head -c 3000000 /dev/zero > big; sleep 30' },
      env: { PATH: '/usr/bin:/bin' },
      resources: { diskMb: 1 },
    });
    started.push(container);
    expect(await limited).toMatchObject({ containerId: 'd1', reason: 'REASON_CONTAINER_LIMITATION_DISK', message: expect.stringMatching(/exceeds quota \(1MB\)/) });
    expect((await container.usage())?.disk_limit_bytes).toBe(1024 * 1024);
    expect((await container.usage())?.disk_used_bytes).toBeGreaterThan(1024 * 1024);
  });
});
