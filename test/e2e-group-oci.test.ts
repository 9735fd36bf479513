/**
 * Task groups on `agora local --isolation oci`: the default executor's container has a CNI
 * network, and each task of the group runs nested in it with its own image (or none), its own
 * cgroup limits and command, while all of them share the executor's network namespace (a
 * sibling's server is on 127.0.0.1) and, through a SANDBOX_PATH PARENT volume, its sandbox. The
 * executor itself reaches the agent's loopback endpoint from inside that namespace, health-checks
 * a task over HTTP from there and runs its COMMAND check inside the task's container.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorInfo, TaskInfo, TaskStatus } from '../src/api/index.js';
import { parseResourceSpec } from '../src/cli/resources-spec.js';
import { type Cluster, runCli, startCluster, stopCluster, tempDir, waitUntil } from './support/cluster.js';
import { freeSubnet, writeBridgeNetwork } from './support/cni.js';
import { TestFramework } from './support/framework.js';
import { buildBusyboxImage, imageTestsUnavailable, pushImage, startRegistry, type LocalRegistry } from './support/registry.js';

const PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const pluginDir = PLUGIN_DIRS.find((d) => ['bridge', 'host-local'].every((p) => existsSync(join(d, p))));

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root: oci isolation and CNI networks need it';
  if (pluginDir === undefined) return 'the CNI plugins are not installed (apt-get install -y containernetworking-plugins)';
  const has = (name: string) => ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin', '/sbin'].some((d) => existsSync(join(d, name)));
  if (!has('crun') && !has('runc')) return 'neither crun nor runc is installed (apt-get install crun)';
  return imageTestsUnavailable();
}

const skip = await skipReason();
if (skip !== undefined) console.log(`e2e-group-oci: skipped: ${skip}`);

function resources(spec: string) {
  const parsed = parseResourceSpec(spec);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

/** A port nothing on the host listens on: the group's server must not be reachable there. */
function hostRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

/** The cgroup directory of a container (flat under the agent's cgroups root), or undefined. */
function cgroupOf(containerId: string, controller: string): string | undefined {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const root = v2 ? '/sys/fs/cgroup' : `/sys/fs/cgroup/${controller}`;
  const found = execFileSync('find', [root, '-maxdepth', '4', '-type', 'd', '-name', containerId], { encoding: 'utf8' }).trim().split('\n')[0];
  return found === undefined || found === '' ? undefined : found;
}

function memoryLimit(containerId: string): number {
  const dir = cgroupOf(containerId, 'memory');
  if (dir === undefined) throw new Error(`no memory cgroup for container ${containerId}`);
  const file = existsSync(join(dir, 'memory.max')) ? 'memory.max' : 'memory.limit_in_bytes';
  return Number(readFileSync(join(dir, file), 'utf8').trim());
}

describe.skipIf(skip !== undefined)('task groups in oci containers', () => {
  const dir = skip === undefined ? tempDir('group-oci') : '';
  const bridge = `agg${randomBytes(3).toString('hex')}`;
  const network = `e2e-${bridge}`;
  let registry: LocalRegistry | undefined;
  let cluster: Cluster | undefined;
  let fw: TestFramework;
  let image: string;
  let subnet: string;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(await buildBusyboxImage(join(dir, 'busybox')), registry.host, 'busybox:latest');
    image = `${registry.host}/busybox:latest`;
    subnet = freeSubnet();
    writeBridgeNetwork(dir, { name: network, bridge, subnet });
    cluster = await startCluster({
      isolation: 'oci',
      extraArgs: ['--network_cni_config_dir', join(dir, 'net.d'), '--network_cni_plugins_dir', pluginDir!, '--docker_pull_timeout', '60secs'],
    });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-group-oci' });
  }, 120_000);

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
    await registry?.stop();
    try {
      execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
    } catch {
      // The bridge was never made.
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs each task with its own image, limits and command in one network namespace and one sandbox volume', { timeout: 90_000 }, async () => {
    let port: number;
    do port = 20_000 + Math.floor(Math.random() * 10_000);
    while (!(await hostRefuses(port)));
    const shared = {
      mode: 'RW' as const,
      container_path: 'shared',
      source: { type: 'SANDBOX_PATH' as const, sandbox_path: { type: 'PARENT' as const, path: 'data' } },
    };
    const executor: ExecutorInfo = {
      type: 'DEFAULT',
      executor_id: { value: 'oci-group' },
      resources: resources('cpus:0.1;mem:32;disk:32'),
      container: { type: 'MESOS', network_infos: [{ name: network }] },
    };
    // The server runs in the busybox image; /etc/agora-image exists only in that image's root.
    const web: TaskInfo = {
      name: 'web',
      task_id: { value: 'og-web' },
      agent_id: { value: '' },
      resources: resources('cpus:0.2;mem:64'),
      command: { value: `cd "$MESOS_SANDBOX" && mkdir -p www && cat /etc/agora-image > www/index.html && echo from-web > shared/note && exec httpd -f -p ${port} -h www` },
      container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: image } } }, volumes: [shared] },
      kill_policy: { grace_period: { nanoseconds: 1_000_000_000 } },
      // The executor runs COMMAND checks inside the task's container: this file is only in the image.
      check: { type: 'COMMAND', command: { command: { value: 'test -f /etc/agora-image' } }, delay_seconds: 0, interval_seconds: 0.5 },
      // ... and HTTP health checks from its own process, in the namespace it shares with its tasks.
      health_check: { type: 'HTTP', http: { port, path: '/index.html' }, delay_seconds: 0, interval_seconds: 0.5, grace_period_seconds: 30 },
    };
    // The client has no image (the host's root, read-only): it reaches the server on its own loopback.
    const client: TaskInfo = {
      name: 'client',
      task_id: { value: 'og-client' },
      agent_id: { value: '' },
      resources: resources('cpus:0.1;mem:96'),
      command: {
        value: [
          `for i in $(seq 200); do busybox wget -q -O page http://127.0.0.1:${port}/index.html && break; sleep 0.1; done`,
          'echo "page: $(cat page)"',
          'echo "note: $(cat shared/note)"',
          'echo "ip: $MESOS_CONTAINER_IP"',
          'test -e /etc/agora-image && echo "root: image" || echo "root: host"',
          'exec sleep 120',
        ].join('; '),
      },
      container: { type: 'MESOS', volumes: [shared] },
      kill_policy: { grace_period: { nanoseconds: 1_000_000_000 } },
    };
    const offer = await fw.takeOffer('cpus:1;mem:512;disk:64');
    await fw.client.launchGroup(offer, executor, [web, client]);
    const webRunning = await running('og-web');
    const clientRunning = await running('og-client');
    const webContainer = webRunning.container_status!.container_id!;
    const clientContainer = clientRunning.container_status!.container_id!;
    expect(webContainer.parent?.value).toBe(clientContainer.parent?.value);

    const stdout = join(sandboxOf(webContainer.parent!.value), 'tasks', 'og-client', 'stdout');
    await waitUntil(() => existsSync(stdout) && readFileSync(stdout, 'utf8').includes('root:'), 30_000, "the client's report").catch((err: Error) => {
      const base = join(sandboxOf(webContainer.parent!.value), 'tasks');
      const read = (p: string) => (existsSync(join(base, p)) ? readFileSync(join(base, p), 'utf8') : `(no ${p})`);
      throw new Error(`${err.message}\n${['og-client/stdout', 'og-client/stderr', 'og-web/stdout', 'og-web/stderr'].map((p) => `${p}: ${read(p)}`).join('\n')}`);
    });
    const report = readFileSync(stdout, 'utf8');
    expect(report).toContain('page: busybox image built by the agora tests');
    expect(report).toContain('note: from-web');
    expect(report).toContain('root: host');
    // The executor's address on the CNI network, passed on to its tasks.
    expect(report).toMatch(new RegExp(`ip: ${subnet.replace(/\./g, '\\.')}\\.\\d+\n`));
    // The group's loopback is its own: the host's 127.0.0.1 has no such server.
    expect(await hostRefuses(port)).toBe(true);

    await fw.until(
      () => fw.statuses.get('og-web')?.find((s) => (s.check_status as { command?: { exit_code?: number } } | undefined)?.command?.exit_code === 0),
      30_000,
      "the web task's COMMAND check to pass in its image",
    );

    await fw.until(() => fw.statuses.get('og-web')?.find((s) => s.healthy === true), 30_000, 'the web task to be healthy');

    // Each task has its own cgroup with its own memory limit.
    expect(memoryLimit(webContainer.value)).toBe(64 * 1024 * 1024);
    expect(memoryLimit(clientContainer.value)).toBe(96 * 1024 * 1024);

    // The CLI reaches tasks of groups too: a command inside the image task's container, and a log.
    const exec = await runCli(['task', 'exec', '--master', cluster!.master, 'og-web', '--', 'cat', '/etc/agora-image'], { timeoutMs: 30_000 });
    expect(exec).toMatchObject({ code: 0, stdout: 'busybox image built by the agora tests\n' });
    const log = await runCli(['task', 'log', '--master', cluster!.master, 'og-client'], { timeoutMs: 30_000 });
    expect(log.stdout).toContain('note: from-web');

    await fw.client.kill('og-web');
    for (const id of ['og-web', 'og-client']) {
      const end: TaskStatus = await fw.waitForTerminal(id, 30_000);
      expect(end.state).toBe('TASK_KILLED');
      // Check updates are TASK_RUNNING again: one state after another, each once.
      expect(fw.states(id).filter((state, i, all) => state !== all[i - 1])).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    }
  });

  /** TASK_RUNNING of a task, or an error with the statuses it got instead (a launch that failed says why). */
  async function running(taskId: string): Promise<TaskStatus> {
    const seen = await fw.until(() => fw.statuses.get(taskId)?.find((s) => s.state === 'TASK_RUNNING' || s.state === 'TASK_FAILED'), 60_000, `${taskId} to start`);
    if (seen.state !== 'TASK_RUNNING') {
      const logs = readdirSync(cluster!.workDir, { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('/stderr') && p.includes('/executors/oci-group/'));
      const text = logs.map((p) => readFileSync(join(cluster!.workDir, p), 'utf8')).join('\n');
      throw new Error(`${taskId}: ${JSON.stringify(fw.statuses.get(taskId)?.map((s) => [s.state, s.reason, s.message]))}\n${text}\n${cluster!.stderr().slice(-3000)}`);
    }
    return seen;
  }

  /** The sandbox of a container: `<work_dir>/.../runs/<container id>`, found on disk. */
  function sandboxOf(containerId: string): string {
    const found = readdirSync(cluster!.workDir, { recursive: true, encoding: 'utf8' }).find((p) => p.endsWith(`/runs/${containerId}`) && !p.includes('/meta/'));
    if (found === undefined) throw new Error(`no sandbox for container ${containerId}`);
    return join(cluster!.workDir, found);
  }
});
