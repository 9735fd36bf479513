/**
 * CNI networks on `agora local --isolation oci`: a task that names a network gets its own IP
 * there (reported in TASK_RUNNING's container_status.network_infos), a host process reaches it
 * on that IP and through its port mapping, and its namespace, veth and DNAT rules are gone once
 * it ends. The network is a bridge + host-local + portmap conflist the test writes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../src/api/index.js';
import { type Cluster, runCli, startCluster, stopCluster, tempDir } from './support/cluster.js';
import { freeSubnet, writeBridgeNetwork } from './support/cni.js';
import { commandTask, TestFramework } from './support/framework.js';

const PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const pluginDir = PLUGIN_DIRS.find((d) => ['bridge', 'host-local', 'portmap'].every((p) => existsSync(join(d, p))));

function commandWorks(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function unavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'CNI networks need root (network namespaces, oci isolation)';
  if (pluginDir === undefined) return 'the CNI plugins are not installed (apt-get install -y containernetworking-plugins)';
  for (const [tool, args, pkg] of [
    ['ip', ['-V'], 'iproute2'],
    ['iptables', ['--version'], 'iptables'],
    ['busybox', ['true'], 'busybox-static'],
  ] as const) {
    if (!commandWorks(tool, [...args])) return `'${tool}' is missing (apt-get install -y ${pkg})`;
  }
  if (!commandWorks('crun', ['--version']) && !commandWorks('runc', ['--version'])) return 'no OCI runtime (apt-get install -y crun)';
  const help = await runCli(['local', '--help']);
  if (!/--network_cni_config_dir/.test(help.stdout)) return 'this build of agora has no --network_cni_config_dir';
  return undefined;
}

const skipReason = await unavailable();
if (skipReason !== undefined) console.log(`e2e-cni: skipped: ${skipReason}`);

/** A /24 in 10.88.0.0/16 that no route of this machine uses yet. */
/** GET with retries while the server in the task starts. */
async function fetchText(url: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return await response.text();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`GET ${url}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function sh(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' });
}

describe.skipIf(skipReason !== undefined)('tasks in a CNI network', () => {
  const dir = skipReason === undefined ? tempDir('cni') : '';
  const bridge = `agc${randomBytes(3).toString('hex')}`;
  const network = `e2e-${bridge}`;
  const subnet = skipReason === undefined ? freeSubnet('10.88') : '';
  const hostPort = 31000 + Math.floor(Math.random() * 1000);
  let cluster: Cluster | undefined;
  let fw: TestFramework;

  beforeAll(async () => {
    writeBridgeNetwork(dir, { name: network, bridge, subnet, portmap: true });
    cluster = await startCluster({
      isolation: 'oci',
      extraArgs: ['--network_cni_config_dir', join(dir, 'net.d'), '--network_cni_plugins_dir', pluginDir!],
    });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-cni' });
  });

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
    // The bridge plugin never deletes its bridge; every container's veth, IP and rules went with DEL.
    if (skipReason === undefined && sh('ip', 'link', 'show').includes(`${bridge}:`)) sh('ip', 'link', 'delete', bridge);
    rmSync(dir, { recursive: true, force: true });
  });

  function networkTask(taskId: string, command: string, networkInfos: unknown[], resources = 'cpus:0.1;mem:64'): TaskInfo {
    return { ...commandTask(taskId, command, { resources }), container: { type: 'MESOS', network_infos: networkInfos } };
  }

  it('gets an IP that a host process reaches directly and through the port mapping; its network is gone when it ends', async () => {
    const serve = 'mkdir -p www && echo "hello from $MESOS_CONTAINER_IP" > www/index.html && exec busybox httpd -f -p 8080 -h www';
    const mapping = { host_port: hostPort, container_port: 8080, protocol: 'tcp' };
    const offer = await fw.takeOffer(`cpus:0.1;mem:64;ports:[${hostPort}-${hostPort}]`);
    await fw.client.launch(offer, [
      networkTask('web', serve, [{ name: network, port_mappings: [mapping] }], `cpus:0.1;mem:64;ports:[${hostPort}-${hostPort}]`),
    ]);
    const running = await fw.waitForState('web', 'TASK_RUNNING', 30_000);
    const infos = running.container_status?.network_infos as Array<{ name?: string; ip_addresses?: Array<{ ip_address?: string }> }>;
    expect(infos).toHaveLength(1);
    const ip = infos[0]?.ip_addresses?.[0]?.ip_address ?? '';
    expect(infos[0]).toEqual({ name: network, port_mappings: [mapping], ip_addresses: [{ protocol: 'IPv4', ip_address: ip }] });
    expect(ip).toMatch(new RegExp(`^${subnet.replace(/\./g, '\\.')}\\.\\d+$`));

    // The host reaches the task on its own IP, and through the port mapping on the host.
    expect(await fetchText(`http://${ip}:8080/`)).toBe(`hello from ${ip}\n`);
    expect(await fetchText(`http://127.0.0.1:${hostPort}/`)).toBe(`hello from ${ip}\n`);
    const containerId = running.container_status?.container_id?.value ?? '';
    expect(sh('ip', 'netns', 'list')).toContain(`agora-${containerId}`);
    expect(sh('iptables', '-t', 'nat', '-S')).toContain(containerId);

    await fw.client.kill('web', offer.agent_id.value);
    const killed = await fw.waitForTerminal('web', 30_000);
    expect(killed.state).toBe('TASK_KILLED');
    expect((killed.container_status?.network_infos as Array<{ name?: string }>)[0]?.name).toBe(network);
    // The network is torn down before the terminal update is sent.
    expect(sh('ip', 'netns', 'list')).not.toContain(`agora-${containerId}`);
    expect(sh('ip', 'link', 'show', 'master', bridge).trim()).toBe('');
    expect(sh('iptables', '-t', 'nat', '-S')).not.toContain(containerId);
    expect(readdirSync(join(dir, 'ipam', network)).filter((f) => f.startsWith(subnet))).toEqual([]);
    await expect(fetchText(`http://127.0.0.1:${hostPort}/`, 500)).rejects.toThrow();
  });

  it('fails a task that names a network the agent does not have, saying which it has', async () => {
    await fw.launch([networkTask('lost', 'true', [{ name: 'no-such-net' }])]);
    const failed = await fw.waitForTerminal('lost', 30_000);
    expect(failed.state).toBe('TASK_FAILED');
    expect(failed.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(failed.message).toContain(`Unknown CNI network 'no-such-net': this agent has '${network}'`);
  });

  it('keeps a task without a named network on the host network', async () => {
    await fw.launch([networkTask('host', 'test -z "$MESOS_CONTAINER_IP"', [{}])]);
    const finished = await fw.waitForTerminal('host', 30_000);
    expect(finished.state).toBe('TASK_FINISHED');
    expect(finished.container_status?.network_infos).toEqual([{ ip_addresses: [{ protocol: 'IPv4', ip_address: '127.0.0.1' }] }]);
  });

  it('removes the network of a task left by an agent killed with SIGKILL when the agent starts again', async () => {
    const offer = await fw.takeOffer(`cpus:0.1;mem:64;ports:[${hostPort}-${hostPort}]`);
    const mapping = { host_port: hostPort, container_port: 8080, protocol: 'tcp' };
    await fw.client.launch(offer, [
      networkTask('orphan', 'exec busybox httpd -f -p 8080 -h .', [{ name: network, port_mappings: [mapping] }], `cpus:0.1;mem:64;ports:[${hostPort}-${hostPort}]`),
    ]);
    const running = await fw.waitForState('orphan', 'TASK_RUNNING', 30_000);
    const containerId = running.container_status?.container_id?.value ?? '';
    fw.close();
    await cluster!.stop('SIGKILL');
    // The dead agent could not clean up: namespace, DNAT rules and address are still there.
    expect(sh('ip', 'netns', 'list')).toContain(`agora-${containerId}`);
    expect(sh('iptables', '-t', 'nat', '-S')).toContain(containerId);

    cluster = await startCluster({
      isolation: 'oci',
      workDir: cluster!.workDir,
      extraArgs: ['--network_cni_config_dir', join(dir, 'net.d'), '--network_cni_plugins_dir', pluginDir!],
    });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-cni-after-restart' });
    expect(sh('ip', 'netns', 'list')).not.toContain(`agora-${containerId}`);
    expect(sh('iptables', '-t', 'nat', '-S')).not.toContain(containerId);
    expect(sh('ip', 'link', 'show', 'master', bridge).trim()).toBe('');
    expect(readdirSync(join(dir, 'ipam', network)).filter((f) => f.startsWith(subnet))).toEqual([]);
  });
});
