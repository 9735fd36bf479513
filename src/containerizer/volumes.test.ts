import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Volume } from '../api/index.js';
import { prepareVolumes, toOciMount, validateVolumes } from './volumes.js';

const dirs: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'agora-volumes-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const hostPath = (path: string, container_path: string, mode: 'RW' | 'RO' = 'RW'): Volume => ({
  mode,
  container_path,
  source: { type: 'HOST_PATH', host_path: { path } },
});

describe('volume validation names the field and the fix', () => {
  it.each<[string, Volume[], boolean, RegExp]>([
    ['no mode', [{ container_path: '/d', source: { type: 'HOST_PATH', host_path: { path: '/tmp' } } }], true, /volumes\[0\]\.mode is missing: set it to RW or RO/],
    ['relative host path', [hostPath('tmp', '/d')], true, /source\.host_path\.path 'tmp' is not absolute/],
    ['.. in container_path', [hostPath('/tmp', '../etc')], true, /container_path '\.\.\/etc' contains '\.\.'/],
    ['two sources', [{ mode: 'RW', container_path: 'd', host_path: '/tmp', source: { type: 'HOST_PATH', host_path: { path: '/tmp' } } }], true, /exactly one of host_path, image and source/],
    ['HOST_PATH without host_path', [{ mode: 'RW', container_path: 'd', source: { type: 'HOST_PATH' } }], true, /source\.host_path is missing/],
    ['PARENT sandbox', [{ mode: 'RW', container_path: 'd', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'PARENT', path: 'x' } } }], true, /only nested containers/],
    ['sandbox path leaving the sandbox', [{ mode: 'RW', container_path: 'd', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: '../x' } } }], true, /relative path inside the sandbox/],
    ['secret volume', [{ mode: 'RO', container_path: 'd', source: { type: 'SECRET' } }], true, /SECRET is not supported by this agent; use HOST_PATH or SANDBOX_PATH/],
    ['HOST_PATH under posix', [hostPath('/tmp', 'd')], false, /--isolation=oci/],
    ['absolute path under posix', [{ mode: 'RW', container_path: '/d', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'x' } } }], false, /is absolute, which needs bind mounts/],
    ['RO under posix', [{ mode: 'RO', container_path: 'd', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'x' } } }], false, /RO needs bind mounts/],
  ])('%s', (_what, volumes, mounts, message) => {
    expect(validateVolumes(volumes, { mounts })).toMatch(message);
  });

  it('accepts HOST_PATH, legacy host_path and SANDBOX_PATH SELF volumes', () => {
    expect(
      validateVolumes(
        [hostPath('/srv', '/data', 'RO'), { mode: 'RW', container_path: 'cache', host_path: 'cache' }, { mode: 'RW', container_path: 'x', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'shared' } } }],
        { mounts: true },
      ),
    ).toBeUndefined();
  });
});

describe('preparing volumes', () => {
  it('turns them into bind mounts: absolute paths as given, relative ones under the sandbox as the container sees it', async () => {
    const host = temp();
    const sandbox = join(temp(), 'sandbox');
    mkdirSync(sandbox);
    writeFileSync(join(host, 'file'), 'f');
    const mounts = await prepareVolumes(
      [
        hostPath(host, '/data', 'RO'),
        hostPath(join(host, 'file'), 'conf/app.conf'),
        { mode: 'RW', container_path: 'out', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'shared/dir' } } },
        { mode: 'RW', container_path: '/legacy', host_path: host },
      ],
      { sandbox, containerSandbox: '/mnt/mesos/sandbox', hasRootfs: true, mounts: true },
    );
    expect(mounts).toEqual([
      { source: host, destination: '/data', readOnly: true },
      { source: join(host, 'file'), destination: '/mnt/mesos/sandbox/conf/app.conf', readOnly: false },
      { source: join(sandbox, 'shared/dir'), destination: '/mnt/mesos/sandbox/out', readOnly: false },
      { source: host, destination: '/legacy', readOnly: false },
    ]);
    // Mount points are made in the sandbox on the host: a file for a file, a directory for a directory.
    expect(lstatSync(join(sandbox, 'conf/app.conf')).isFile()).toBe(true);
    expect(lstatSync(join(sandbox, 'out')).isDirectory()).toBe(true);
    expect(toOciMount(mounts[0]!)).toEqual({ destination: '/data', type: 'bind', source: host, options: ['rbind', 'ro'] });
  });

  it('refuses a host path that does not exist, and an absolute container path missing on a host-rooted container', async () => {
    const sandbox = temp();
    await expect(prepareVolumes([hostPath('/nonexistent-agora', 'd')], { sandbox, containerSandbox: sandbox, hasRootfs: false, mounts: true })).rejects.toThrow(
      /host path '\/nonexistent-agora' does not exist on this agent/,
    );
    await expect(prepareVolumes([hostPath(sandbox, '/nonexistent-agora')], { sandbox, containerSandbox: sandbox, hasRootfs: false, mounts: true })).rejects.toThrow(
      /must exist there/,
    );
  });

  it('links sandbox volumes into place under posix (no mounts), as Mesos does without bind mounts', async () => {
    const sandbox = temp();
    const mounts = await prepareVolumes(
      [{ mode: 'RW', container_path: 'link', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'real' } } }],
      { sandbox, containerSandbox: sandbox, hasRootfs: false, mounts: false },
    );
    expect(mounts).toEqual([]);
    expect(readlinkSync(join(sandbox, 'link'))).toBe(join(sandbox, 'real'));
    expect(existsSync(join(sandbox, 'real'))).toBe(true);
  });
});

describe('SANDBOX_PATH volumes of type PARENT (tasks of a group)', () => {
  const parentVolume: Volume = { mode: 'RW', container_path: 'shared', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'PARENT', path: 'data' } } };

  it("link the parent's directory into the sandbox without bind mounts (posix)", async () => {
    const parent = temp();
    const sandbox = join(parent, 'containers', 'c1');
    mkdirSync(sandbox, { recursive: true });
    const mounts = await prepareVolumes([parentVolume], { sandbox, parentSandbox: parent, containerSandbox: sandbox, hasRootfs: false, mounts: false });
    expect(mounts).toEqual([]);
    expect(readlinkSync(join(sandbox, 'shared'))).toBe(join(parent, 'data'));
    expect(lstatSync(join(parent, 'data')).isDirectory()).toBe(true);
  });

  it("bind the parent's directory where the container sees its sandbox (oci)", async () => {
    const parent = temp();
    const sandbox = join(parent, 'containers', 'c1');
    mkdirSync(sandbox, { recursive: true });
    const mounts = await prepareVolumes([parentVolume], { sandbox, parentSandbox: parent, containerSandbox: '/mnt/mesos/sandbox', hasRootfs: true, mounts: true });
    expect(mounts).toEqual([{ source: join(parent, 'data'), destination: '/mnt/mesos/sandbox/shared', readOnly: false }]);
  });
});
