import { describe, expect, it } from 'vitest';
import { cpuResources } from '../isolators/cgroups/cpu.js';
import { memoryLimitation, memoryResources } from '../isolators/cgroups/mem.js';
import type { LaunchSpec } from '../launcher.js';
import { exitStatusOf } from '../launchers/oci.js';
import { ociConfig, type OciConfigInput } from './spec.js';

const SPEC: LaunchSpec = {
  containerId: 'c1',
  command: { shell: true, value: 'echo hi' },
  env: { PATH: '/bin', MESOS_SANDBOX: '/w/runs/c1' },
  workDir: '/w/runs/c1',
  stdoutPath: '/w/runs/c1/stdout',
  stderrPath: '/w/runs/c1/stderr',
  resources: { cpus: 0.5, memMb: 64 },
};

function config(spec: Partial<LaunchSpec> = {}, input: Partial<OciConfigInput> = {}) {
  return ociConfig({
    spec: { ...SPEC, ...spec },
    cgroupsPath: '/agora/c1',
    hostRoot: { skeleton: '/run/agora/hostroot', directories: ['/etc', '/usr', '/work'] },
    init: '/usr/bin/tini-static',
    pidsLimit: 4096,
    enableCfs: true,
    limitSwap: true,
    hostname: 'node1',
    agentUser: { uid: 0, gid: 0 },
    ...input,
  }) as {
    process: { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number }; capabilities: { effective: string[] } };
    root: { path: string; readonly: boolean };
    hostname: string;
    mounts: Array<{ destination: string; type: string; source: string; options: string[] }>;
    linux: { namespaces: Array<{ type: string; path?: string }>; cgroupsPath: string; resources: Record<string, unknown> };
  };
}

describe('ociConfig', () => {
  it('gives private pid, mount, ipc and uts namespaces and the host network by default', () => {
    expect(config().linux.namespaces).toEqual([{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }]);
    expect(config({ networkNamespacePath: '/var/run/netns/n1' }).linux.namespaces).toContainEqual({ type: 'network', path: '/var/run/netns/n1' });
  });

  it('turns cpus and mem into cgroup limits, with a pids limit', () => {
    expect(config().linux.resources).toMatchObject({
      cpu: { shares: 512, quota: 50_000, period: 100_000 },
      memory: { limit: 64 * 1024 * 1024, swap: 64 * 1024 * 1024 },
      pids: { limit: 4096 },
    });
    expect(config({}, { limitSwap: false }).linux.resources['memory']).toEqual({ limit: 64 * 1024 * 1024 });
    expect(config({}, { enableCfs: false }).linux.resources['cpu']).toEqual({ shares: 512 });
    expect(config({ resources: {} }, { pidsLimit: 0 }).linux.resources).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
  });

  it('runs the command behind tini, in the sandbox, with the given environment', () => {
    const c = config();
    expect(c.process.args).toEqual(['/dev/init', '--', '/bin/sh', '-c', 'echo hi']);
    expect(c.process.cwd).toBe('/w/runs/c1');
    expect(c.process.env).toEqual(['PATH=/bin', 'MESOS_SANDBOX=/w/runs/c1']);
    expect(config({ command: { shell: false, value: '/bin/sleep', argv: ['sleep', '5'] } }, { init: undefined }).process.args).toEqual([
      '/bin/sleep',
      '5',
    ]);
  });

  it("without an image: the host's directories read-only in a skeleton root, a private /tmp, the sandbox at its host path", () => {
    const c = config();
    expect(c.root).toEqual({ path: '/run/agora/hostroot', readonly: true });
    const destinations = c.mounts.map((m) => m.destination);
    expect(c.mounts.filter((m) => m.destination === '/usr')).toEqual([{ destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] }]);
    // The host's /sys is bound (a new sysfs needs a network namespace of one's own).
    expect(c.mounts.find((m) => m.destination === '/sys')).toMatchObject({ type: 'bind', source: '/sys' });
    expect(destinations.indexOf('/tmp')).toBeLessThan(destinations.indexOf('/w/runs/c1'));
    expect(c.mounts.at(-1)).toEqual({ destination: '/w/runs/c1', type: 'bind', source: '/w/runs/c1', options: ['rbind', 'rw'] });
  });

  it('with an image: its rootfs, the sandbox at /mnt/mesos/sandbox, the working dir and extra mounts last', () => {
    const volume = { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] };
    const c = config({ rootfs: '/store/rootfs/c1', workingDir: '/app', mounts: [volume], user: { name: 'nobody', uid: 65534, gid: 65534 } });
    expect(c.root).toEqual({ path: '/store/rootfs/c1', readonly: true });
    expect(c.mounts).toContainEqual({ destination: '/mnt/mesos/sandbox', type: 'bind', source: '/w/runs/c1', options: ['rbind', 'rw'] });
    expect(c.mounts.at(-1)).toEqual(volume);
    expect(c.mounts.map((m) => m.destination)).not.toContain('/usr');
    expect(c.process.cwd).toBe('/app');
    expect(c.process.user).toEqual({ uid: 65534, gid: 65534 });
    expect(c.process.capabilities.effective).toEqual([]);
  });

  it('keeps the host name unless the container asks for its own', () => {
    expect(config().hostname).toBe('node1');
    expect(config({ hostname: 'web-1' }).hostname).toBe('web-1');
  });
});

describe('cgroup limits from resources', () => {
  it("uses Mesos's numbers: 1024 shares per cpu (at least 2), a quota of cpus * 100 ms, at least 32 MB", () => {
    expect(cpuResources(2)).toEqual({ shares: 2048, quota: 200_000, period: 100_000 });
    expect(cpuResources(0.001)).toEqual({ shares: 2, quota: 1_000, period: 100_000 });
    expect(cpuResources(undefined)).toBeUndefined();
    expect(memoryResources(8)).toEqual({ limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 });
    expect(memoryResources(undefined)).toBeUndefined();
  });

  it('words an OOM as Mesos does', () => {
    expect(memoryLimitation(64, 64 * 1024 * 1024).message).toBe('Memory limit exceeded: Requested: 64MB Maximum Used: 64MB');
  });
});

describe('exitStatusOf', () => {
  it('reads 128 + n as signal n, as conmon and tini report it', () => {
    expect(exitStatusOf(0)).toEqual({ code: 0 });
    expect(exitStatusOf(7)).toEqual({ code: 7 });
    expect(exitStatusOf(137)).toEqual({ signal: 'SIGKILL' });
    expect(exitStatusOf(143)).toEqual({ signal: 'SIGTERM' });
    expect(exitStatusOf(255)).toEqual({ code: 255 });
  });
});
