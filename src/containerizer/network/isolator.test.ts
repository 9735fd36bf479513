import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NetworkInfo } from '../../api/index.js';
import type { ContainerRequest } from '../isolator.js';
import { LaunchError, type LaunchSpec } from '../launcher.js';
import { NetworkCniIsolator, networkIsolatorFromFlags, requestedNetworks } from './isolator.js';
import { type ContainerNetworks, type NetworkAttachment, NetworkError } from './networks.js';

const logger = pino({ level: 'silent' });

/** Records calls; attaches with a fixed answer, or fails as told. */
class FakeNetworks implements ContainerNetworks {
  readonly calls: string[] = [];
  failAttach: string | undefined;
  failDetach: string | undefined;
  async attach(containerId: string, requested: readonly NetworkInfo[]): Promise<NetworkAttachment> {
    this.calls.push(`attach ${containerId} ${requested.map((r) => r.name ?? '-').join(',')}`);
    if (this.failAttach !== undefined) throw new NetworkError(this.failAttach);
    return {
      namespacePath: `/run/netns/agora-${containerId}`,
      networkInfos: [{ name: 'blue', ip_addresses: [{ protocol: 'IPv4', ip_address: '10.88.1.2' }] }],
      env: { MESOS_CONTAINER_IP: '10.88.1.2' },
    };
  }
  async detach(containerId: string): Promise<void> {
    this.calls.push(`detach ${containerId}`);
    if (this.failDetach !== undefined) throw new NetworkError(this.failDetach);
  }
}

const spec: LaunchSpec = {
  containerId: 'c1',
  command: { shell: true, value: 'true' },
  env: { PATH: '/bin', MESOS_TASK_ID: 't1' },
  workDir: '/sandbox',
  stdoutPath: '/sandbox/stdout',
  stderrPath: '/sandbox/stderr',
};

function request(containerInfo: unknown): ContainerRequest {
  return { containerId: 'c1', containerInfo, directory: '/sandbox', resources: {} };
}

const inBlue = { type: 'MESOS', network_infos: [{ name: 'blue', port_mappings: [{ host_port: 31000, container_port: 80 }] }] };

describe('NetworkCniIsolator', () => {
  it('leaves containers without named networks on the host network', async () => {
    const networks = new FakeNetworks();
    const isolator = new NetworkCniIsolator({ networks, isolates: true, logger });
    expect(await isolator.prepare(request(undefined), spec)).toBeUndefined();
    expect(await isolator.prepare(request({ type: 'MESOS' }), spec)).toBeUndefined();
    expect(await isolator.prepare(request({ type: 'MESOS', network_infos: [{ ip_addresses: [] }] }), spec)).toBeUndefined();
    expect(networks.calls).toEqual([]);
  });

  it('puts the container in its networks: namespace to join, MESOS_CONTAINER_IP, addresses to report', async () => {
    const networks = new FakeNetworks();
    const isolator = new NetworkCniIsolator({ networks, isolates: true, logger });
    const patch = await isolator.prepare(request(inBlue), spec);
    expect(networks.calls).toEqual(['attach c1 blue']);
    expect(patch).toEqual({
      networkNamespacePath: '/run/netns/agora-c1',
      env: { PATH: '/bin', MESOS_TASK_ID: 't1', MESOS_CONTAINER_IP: '10.88.1.2' },
      networkInfos: [{ name: 'blue', ip_addresses: [{ protocol: 'IPv4', ip_address: '10.88.1.2' }] }],
    });
    await isolator.cleanup('c1');
    expect(networks.calls).toEqual(['attach c1 blue', 'detach c1']);
  });

  it.each([
    ['an agent without CNI networks', undefined, true, "The task asks for CNI network 'blue', but this agent has no CNI networks: start it with --network_cni_config_dir"],
    ['the posix launcher', new FakeNetworks(), false, "CNI network 'blue' needs --isolation=oci (as root); this agent runs tasks with the posix launcher"],
  ])('fails the launch on %s, with the fix', async (_what, networks, isolates, message) => {
    const isolator = new NetworkCniIsolator({ networks, isolates, logger });
    await expect(isolator.prepare(request(inBlue), spec)).rejects.toThrow(new LaunchError(message));
  });

  it('turns a failed attach into a LaunchError with its message', async () => {
    const networks = new FakeNetworks();
    networks.failAttach = "Unknown CNI network 'blue': this agent has 'red'";
    const isolator = new NetworkCniIsolator({ networks, isolates: true, logger });
    const error = await isolator.prepare(request(inBlue), spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as Error).message).toBe("Unknown CNI network 'blue': this agent has 'red'");
  });

  it('never rejects in cleanup', async () => {
    const networks = new FakeNetworks();
    networks.failDetach = 'iptables is locked';
    await new NetworkCniIsolator({ networks, isolates: true, logger }).cleanup('c1');
    await new NetworkCniIsolator({ networks: undefined, isolates: true, logger }).cleanup('c1');
    expect(networks.calls).toEqual(['detach c1']);
  });

  it('names a malformed network_infos field', () => {
    expect(() => requestedNetworks({ network_infos: [{ name: 'blue', port_mappings: [{ host_port: 'x' }] }] })).toThrow(
      /TaskInfo\.container\.network_infos\[0\]\.port_mappings\[0\]\.host_port/,
    );
  });
});

describe('networkIsolatorFromFlags', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agora-cni-flags-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const flags = (extra: object) => ({ workDir: dir, isolates: true, isRoot: true, logger, ...extra });

  it('without --network_cni_config_dir makes an isolator that has no networks', async () => {
    const { isolator } = await networkIsolatorFromFlags(flags({}));
    await expect(isolator.prepare(request(inBlue), spec)).rejects.toThrow(/has no CNI networks/);
  });

  it.each([
    ['a plugins dir without a config dir', { pluginsDir: '/usr/lib/cni' }, '--network_cni_plugins_dir needs --network_cni_config_dir'],
    ['an agent that is not root', { configDir: '/etc/cni/net.d', isRoot: false }, '--network_cni_config_dir: CNI networks need the agent to run as root'],
    ['the posix launcher', { configDir: '/etc/cni/net.d', isolates: false }, '--network_cni_config_dir: CNI networks need --isolation=oci'],
    ['a missing plugins dir', { configDir: '/etc/cni/net.d', pluginsDir: '/nonexistent/cni' }, "--network_cni_plugins_dir: '/nonexistent/cni' does not exist"],
  ])('refuses %s, naming the flag', async (_what, extra, message) => {
    await expect(networkIsolatorFromFlags(flags(extra))).rejects.toThrow(message);
  });

  it('names the flag, file and field of a bad configuration', async () => {
    mkdirSync(join(dir, 'net.d'));
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'net.d', '10-x.conflist'), JSON.stringify({ name: 'x', plugins: [{}] }));
    await expect(networkIsolatorFromFlags(flags({ configDir: join(dir, 'net.d'), pluginsDir: join(dir, 'plugins') }))).rejects.toThrow(
      `--network_cni_config_dir: ${join(dir, 'net.d', '10-x.conflist')}: plugins[0].type: is missing`,
    );
  });
});
