import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NetworkInfo } from '../../api/index.js';
import { CniNetworks, joinsNetworks, NetworkError } from './networks.js';
import type { NamespaceManager } from './netns.js';
import { fakeCalls, fakeResult, writeFakePlugin } from './fake-plugin.test-support.js';

/** Namespaces as plain files, so the sequence can be tested without root. */
class FakeNamespaces implements NamespaceManager {
  readonly events: string[] = [];
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  async create(name: string): Promise<string> {
    this.events.push(`create ${name}`);
    writeFileSync(join(this.dir, name), '');
    return join(this.dir, name);
  }
  async remove(name: string): Promise<void> {
    this.events.push(`remove ${name}`);
    rmSync(join(this.dir, name), { force: true });
  }
  live(): string[] {
    return readdirSync(this.dir);
  }
}

let dir: string;
let configDir: string;
let pluginDir: string;
let logDir: string;
let stateDir: string;
let namespaces: FakeNamespaces;
const logger = pino({ level: 'silent' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-cni-networks-'));
  configDir = join(dir, 'net.d');
  pluginDir = join(dir, 'plugins');
  logDir = join(dir, 'log');
  stateDir = join(dir, 'work', 'meta', 'network', 'cni');
  mkdirSync(configDir);
  namespaces = new FakeNamespaces(join(dir, 'netns'));
  writeFakePlugin(pluginDir, logDir, 'bridge', { addResult: fakeResult('bridge', 2) });
  writeFakePlugin(pluginDir, logDir, 'portmap', { addResult: fakeResult('bridge', 2) });
  writeFakePlugin(pluginDir, logDir, 'host-local');
  writeFakePlugin(pluginDir, logDir, 'ptp', { addResult: fakeResult('ptp', 9) });
  writeNetwork('10-blue.conflist', {
    cniVersion: '1.0.0',
    name: 'blue',
    plugins: [
      { type: 'bridge', ipam: { type: 'host-local' } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  writeNetwork('20-green.conf', { cniVersion: '1.0.0', name: 'green', type: 'ptp', ipam: { type: 'host-local' } });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeNetwork(file: string, config: object): void {
  writeFileSync(join(configDir, file), JSON.stringify(config));
}

function networks(): Promise<CniNetworks> {
  return CniNetworks.create({ configDir, pluginDirs: [pluginDir], stateDir, logger, namespaces, pluginEnv: { PATH: '/usr/bin:/bin' } });
}

const blue: NetworkInfo = {
  name: 'blue',
  labels: { labels: [{ key: 'team', value: 'a' }] },
  port_mappings: [{ host_port: 31080, container_port: 80 }],
};

describe('CniNetworks.attach', () => {
  it('makes a namespace, runs ADD for each named network and reports the addresses as Mesos does', async () => {
    const cni = await networks();
    const attachment = await cni.attach('c1', [blue, { name: 'green' }, {}]);
    expect(namespaces.events).toEqual(['create agora-c1']);
    expect(attachment.namespacePath).toBe(join(dir, 'netns', 'agora-c1'));
    expect(attachment.networkInfos).toEqual([
      {
        name: 'blue',
        labels: { labels: [{ key: 'team', value: 'a' }] },
        port_mappings: [{ host_port: 31080, container_port: 80 }],
        ip_addresses: [{ protocol: 'IPv4', ip_address: '10.99.0.2' }],
      },
      { name: 'green', ip_addresses: [{ protocol: 'IPv4', ip_address: '10.99.0.9' }] },
    ]);
    expect(attachment.env).toEqual({ MESOS_CONTAINER_IP: '10.99.0.2' });

    const calls = fakeCalls(logDir);
    expect(calls.map((c) => `${c.plugin} ${c.command} ${c.env['CNI_IFNAME']}`)).toEqual(['bridge ADD eth0', 'portmap ADD eth0', 'ptp ADD eth1']);
    expect(calls.every((c) => c.env['CNI_CONTAINERID'] === 'c1' && c.env['CNI_NETNS'] === attachment.namespacePath)).toBe(true);
    expect(calls[1]!.config['runtimeConfig']).toEqual({ portMappings: [{ hostPort: 31080, containerPort: 80, protocol: 'tcp' }] });
    expect(calls[0]!.config['args']).toEqual({ 'org.apache.mesos': { network_info: blue } });
  });

  it('tells a task with no named network apart', () => {
    expect(joinsNetworks(undefined)).toBe(false);
    expect(joinsNetworks([{ ip_addresses: [{ ip_address: '1.2.3.4' }] }])).toBe(false);
    expect(joinsNetworks([{}, { name: 'blue' }])).toBe(true);
  });

  it.each([
    [[{ name: 'red' }], "Unknown CNI network 'red': this agent has 'blue', 'green'"],
    [[{ name: 'blue' }, { name: 'blue' }], "names CNI network 'blue' more than once"],
    [[{ name: 'green', port_mappings: [{ host_port: 80, container_port: 80 }] }], "CNI network 'green' cannot map ports: none of its plugins has the \"portMappings\" capability"],
    [[{ name: 'blue', port_mappings: [{ host_port: 70000, container_port: 80 }] }], "network 'blue': port_mappings[0].host_port: 70000 is not a port"],
    [[{ name: 'blue', port_mappings: [{ host_port: 80, container_port: 80, protocol: 'sctp' }] }], 'port_mappings[0].protocol: "sctp" is not "tcp" or "udp"'],
    [
      [{ name: 'blue', port_mappings: [{ host_port: 80, container_port: 80 }, { host_port: 80, container_port: 81, protocol: 'TCP' }] }],
      'port_mappings[1].host_port: tcp port 80 is mapped twice',
    ],
  ])('refuses %j before touching anything', async (request, message) => {
    const cni = await networks();
    const error = await cni.attach('c1', request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toContain(message);
    expect(namespaces.events).toEqual([]);
    expect(existsSync(logDir) ? fakeCalls(logDir) : []).toEqual([]);
  });

  it('reads the configuration directory again for a network added since the agent started', async () => {
    const cni = await networks();
    writeNetwork('30-red.conf', { cniVersion: '1.0.0', name: 'red', type: 'ptp' });
    const attachment = await cni.attach('c1', [{ name: 'red' }]);
    expect(attachment.networkInfos.map((n) => n.name)).toEqual(['red']);
  });

  it('undoes everything when a later network fails: DEL of the earlier ones, namespace removed', async () => {
    writeFakePlugin(pluginDir, logDir, 'ptp', { failOn: { command: 'ADD', error: { code: 11, msg: 'no free address' } } });
    const cni = await networks();
    const error = await cni.attach('c1', [blue, { name: 'green' }]).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      "Failed to attach the container to CNI network 'green': CNI plugin 'ptp' (ADD) failed: no free address (CNI error code 11, try again later)",
    );
    // DEL for every network the container was being attached to, the failed one too (CNI spec).
    expect(fakeCalls(logDir).map((c) => `${c.plugin} ${c.command}`)).toEqual([
      'bridge ADD',
      'portmap ADD',
      'ptp ADD',
      'ptp DEL',
      'portmap DEL',
      'bridge DEL',
    ]);
    expect(namespaces.live()).toEqual([]);
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('treats a result it cannot read as a failed ADD', async () => {
    writeFakePlugin(pluginDir, logDir, 'ptp', { addResult: { ips: [{ address: 'nowhere' }] } });
    const cni = await networks();
    await expect(cni.attach('c1', [{ name: 'green' }])).rejects.toThrow(/CNI network 'green': ips\[0\]\.address: "nowhere"/);
    expect(namespaces.live()).toEqual([]);
  });
});

describe('CniNetworks.detach', () => {
  it('runs DEL with the configuration and port mappings of the ADD, even after the file changed', async () => {
    const cni = await networks();
    await cni.attach('c1', [blue]);
    rmSync(join(configDir, '10-blue.conflist'));
    rmSync(logDir, { recursive: true });
    await cni.detach('c1');
    const calls = fakeCalls(logDir);
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).toEqual(['portmap DEL', 'bridge DEL']);
    expect(calls[0]!.config['runtimeConfig']).toEqual({ portMappings: [{ hostPort: 31080, containerPort: 80, protocol: 'tcp' }] });
    expect(calls[0]!.config['prevResult']).toEqual(fakeResult('bridge', 2));
    expect(namespaces.live()).toEqual([]);
    expect(readdirSync(stateDir)).toEqual([]);
    // A second detach finds nothing to do.
    await cni.detach('c1');
    expect(fakeCalls(logDir)).toHaveLength(2);
  });

  it('keeps the checkpoint when DEL fails, so the next agent start tries again', async () => {
    writeFakePlugin(pluginDir, logDir, 'bridge', { failOn: { command: 'DEL', error: { code: 5, msg: 'iptables is locked' } } });
    const cni = await networks();
    await cni.attach('c1', [{ name: 'blue' }]);
    await expect(cni.detach('c1')).rejects.toThrow("Failed to detach container c1: network 'blue': CNI plugin 'bridge' (DEL) failed: iptables is locked");
    expect(readdirSync(stateDir)).toEqual(['c1.json']);
    expect(namespaces.live()).toEqual([]);

    writeFakePlugin(pluginDir, logDir, 'bridge');
    expect(await (await networks()).recover()).toEqual(['c1']);
    expect(readdirSync(stateDir)).toEqual([]);
  });
});

describe('CniNetworks.recover', () => {
  it("detaches the containers a previous agent left, except those it is told to keep", async () => {
    const previous = await networks();
    await previous.attach('old-1', [{ name: 'blue' }]);
    await previous.attach('old-2', [{ name: 'green' }]);
    await previous.attach('live', [{ name: 'green' }]);
    rmSync(logDir, { recursive: true });

    const cni = await networks();
    expect((await cni.recover(new Set(['live']))).sort()).toEqual(['old-1', 'old-2']);
    expect(fakeCalls(logDir).map((c) => `${c.plugin} ${c.command} ${c.env['CNI_CONTAINERID']}`).sort()).toEqual([
      'bridge DEL old-1',
      'portmap DEL old-1',
      'ptp DEL old-2',
    ]);
    expect(namespaces.live()).toEqual(['agora-live']);
    expect(readdirSync(stateDir)).toEqual(['live.json']);
  });

  it('removes the namespace of a container whose checkpoint is unreadable', async () => {
    const cni = await networks();
    await cni.attach('c1', [{ name: 'green' }]);
    writeFileSync(join(stateDir, 'c1.json'), '{ torn');
    expect(await cni.recover()).toEqual(['c1']);
    expect(namespaces.live()).toEqual([]);
  });
});

describe('CniNetworks.check', () => {
  it('runs CHECK with the ADD result', async () => {
    const cni = await networks();
    await cni.attach('c1', [{ name: 'green' }]);
    await cni.check('c1');
    const check = fakeCalls(logDir).find((c) => c.command === 'CHECK');
    expect(check?.config['prevResult']).toEqual(fakeResult('ptp', 9));
  });
});

describe('CniNetworks.create', () => {
  it('refuses a configuration whose plugin is not installed, naming file and field', async () => {
    writeNetwork('40-x.conflist', { cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'macvlan' }] });
    await expect(networks()).rejects.toThrow(`${join(configDir, '40-x.conflist')}: plugins[0].type: no executable plugin "macvlan"`);
  });
});
