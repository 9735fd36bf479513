/**
 * Health checks and checks on `agora local`, run by the agent: an HTTP health check that turns
 * unhealthy gets its task killed after `consecutive_failures` (TASK_KILLED with healthy=false, as
 * Mesos's command executor ends it); COMMAND health checks and checks run in the task's
 * environment, with check_status updates; and, with oci isolation and a CNI network, HTTP and
 * COMMAND probes reach a task inside its own network and mount namespaces.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckStatusInfo, TaskInfo, TaskStatus } from '../src/api/index.js';
import { type Cluster, startCluster, stopCluster, tempDir } from './support/cluster.js';
import { freeSubnet, writeBridgeNetwork } from './support/cni.js';
import { commandTask, TestFramework } from './support/framework.js';

/** A TCP port free on this host right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The sandbox of the run of `taskId` with `containerId`, found under the cluster's work dir. */
function sandboxOf(cluster: Cluster, containerId: string): string {
  const found = readdirSync(cluster.workDir, { recursive: true, encoding: 'utf8' }).find((p) => p.endsWith(`/runs/${containerId}`) && !p.includes('/meta/'));
  if (found === undefined) throw new Error(`no sandbox for container ${containerId} under ${cluster.workDir}`);
  return join(cluster.workDir, found);
}

/** TaskStatus.check_status, which the wire schema keeps opaque. */
const checkStatus = (s: TaskStatus) => s.check_status as CheckStatusInfo | undefined;

const describeStatus = (s: TaskStatus) =>
  [s.state, s.reason ?? '', s.healthy === undefined ? '' : `healthy=${s.healthy}`].filter((x) => x !== '').join(' ');

/** The statuses after the first TASK_RUNNING, deduplicated by uuid (a retried update arrives twice). */
function updatesOf(fw: TestFramework, taskId: string): TaskStatus[] {
  const seen = new Set<string>();
  return (fw.statuses.get(taskId) ?? []).filter((s) => {
    const key = s.uuid ?? `${s.state}-${s.timestamp}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function busyboxWorks(): boolean {
  try {
    execFileSync('busybox', ['true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const noBusybox = busyboxWorks() ? undefined : "'busybox' is missing (apt-get install -y busybox-static)";
if (noBusybox !== undefined) console.log(`e2e-health: HTTP cases skipped: ${noBusybox}`);

describe('health checks and checks of command tasks (posix)', () => {
  let cluster: Cluster | undefined;
  let fw: TestFramework;
  const dir = tempDir('health');

  beforeAll(async () => {
    cluster = await startCluster();
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-health' });
  });

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(noBusybox !== undefined)('an HTTP health check turning unhealthy kills the task after consecutive_failures', async () => {
    const www = join(dir, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'health'), 'ok\n');
    const port = await freePort();
    const task: TaskInfo = {
      ...commandTask('web', `exec busybox httpd -f -p 127.0.0.1:${port} -h ${www}`, { killGraceMs: 1000 }),
      health_check: {
        type: 'HTTP',
        http: { port, path: '/health' },
        delay_seconds: 0,
        interval_seconds: 0.5,
        timeout_seconds: 2,
        grace_period_seconds: 10,
        consecutive_failures: 3,
      },
      check: { type: 'TCP', tcp: { port }, delay_seconds: 0, interval_seconds: 0.5 },
    };
    await fw.launch([task]);
    const healthy = await fw.until(() => updatesOf(fw, 'web').find((s) => s.healthy === true), 20_000, 'a healthy update of web');
    expect(healthy).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', source: 'SOURCE_EXECUTOR' });
    await fw.until(() => updatesOf(fw, 'web').find((s) => checkStatus(s)?.tcp?.succeeded === true), 10_000, 'a TCP check result');

    // The server now answers 404: after 3 failures in a row the agent kills the task.
    const brokenAt = Date.now();
    unlinkSync(join(www, 'health'));
    const killed = await fw.waitForTerminal('web', 30_000);
    expect(Date.now() - brokenAt).toBeGreaterThanOrEqual(1000); // three probes, half a second apart
    expect(killed).toMatchObject({ state: 'TASK_KILLED', healthy: false, source: 'SOURCE_EXECUTOR' });
    expect(killed.message).toContain('Task killed after failing its health check');

    const updates = updatesOf(fw, 'web');
    const afterBreak = updates.slice(updates.findIndex((s) => s.healthy === false));
    expect(afterBreak.map(describeStatus)).toEqual([
      'TASK_RUNNING REASON_TASK_HEALTH_CHECK_STATUS_UPDATED healthy=false',
      'TASK_RUNNING REASON_TASK_HEALTH_CHECK_STATUS_UPDATED healthy=false',
      'TASK_RUNNING REASON_TASK_HEALTH_CHECK_STATUS_UPDATED healthy=false',
      'TASK_KILLING',
      'TASK_KILLED healthy=false',
    ]);
    expect(afterBreak[0]!.message).toBe(`HTTP GET http://127.0.0.1:${port}/health answered 404`);
    // Every update of a task with a check carries check_status; the health updates the latest.
    expect(updates.every((s) => checkStatus(s)?.type === 'TCP')).toBe(true);
    expect(afterBreak[0]!.check_status).toEqual({ type: 'TCP', tcp: { succeeded: true } });
  });

  it("runs COMMAND health checks and checks in the task's environment and reports check_status changes", async () => {
    const task: TaskInfo = {
      ...commandTask('cmd', 'touch alive && exec sleep 120', { env: { WANTED: 'ready' } }),
      health_check: { type: 'COMMAND', command: { value: 'test -f "$MESOS_SANDBOX/alive"' }, delay_seconds: 0, interval_seconds: 0.5, grace_period_seconds: 5 },
      check: { type: 'COMMAND', command: { command: { value: 'test -f "$MESOS_SANDBOX/$WANTED"' } }, delay_seconds: 0, interval_seconds: 0.5 },
    };
    await fw.launch([task]);
    const running = await fw.waitForState('cmd', 'TASK_RUNNING', 20_000);
    expect(running.check_status).toEqual({ type: 'COMMAND', command: {} });
    await fw.until(() => updatesOf(fw, 'cmd').find((s) => s.healthy === true), 20_000, 'cmd to be healthy');
    const notReady = await fw.until(
      () => updatesOf(fw, 'cmd').find((s) => checkStatus(s)?.command?.exit_code === 1),
      20_000,
      'the check to report exit code 1',
    );
    expect(notReady).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_TASK_CHECK_STATUS_UPDATED' });

    writeFileSync(join(sandboxOf(cluster!, running.container_status!.container_id!.value), 'ready'), '');
    const ready = await fw.until(
      () => updatesOf(fw, 'cmd').find((s) => checkStatus(s)?.command?.exit_code === 0),
      20_000,
      'the check to report exit code 0',
    );
    expect(ready).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_TASK_CHECK_STATUS_UPDATED', healthy: true });
    // Only changes are reported: one update per result that differs.
    const checkUpdates = updatesOf(fw, 'cmd').filter((s) => s.reason === 'REASON_TASK_CHECK_STATUS_UPDATED');
    expect(checkUpdates.map((s) => s.check_status)).toEqual([
      { type: 'COMMAND', command: { exit_code: 1 } },
      { type: 'COMMAND', command: { exit_code: 0 } },
    ]);

    await fw.client.kill('cmd');
    const killed = await fw.waitForTerminal('cmd', 15_000);
    expect(killed.state).toBe('TASK_KILLED');
    expect(killed.healthy).toBeUndefined();
  });

  it('answers a task whose health check is invalid with TASK_ERROR naming the field', async () => {
    await fw.launch([{ ...commandTask('bad', 'sleep 1'), health_check: { type: 'HTTP', http: { port: 80, path: 'health' } } }]);
    const error = await fw.waitForTerminal('bad');
    expect(error).toMatchObject({
      state: 'TASK_ERROR',
      reason: 'REASON_TASK_INVALID',
      message: "Task uses an invalid health check: health_check.http.path: must start with '/' (got 'health')",
    });
  });
});

const PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const pluginDir = PLUGIN_DIRS.find((d) => ['bridge', 'host-local'].every((p) => existsSync(join(d, p))));

function ociSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: oci isolation and CNI networks need it';
  if (noBusybox !== undefined) return noBusybox;
  if (pluginDir === undefined) return 'the CNI plugins are not installed (apt-get install -y containernetworking-plugins)';
  const has = (name: string) => ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin', '/sbin'].some((d) => existsSync(join(d, name)));
  if (!has('crun') && !has('runc')) return 'neither crun nor runc is installed (apt-get install crun)';
  if (!has('nsenter')) return "'nsenter' is missing (util-linux)";
  return undefined;
}

const ociSkip = ociSkipReason();
if (ociSkip !== undefined) console.log(`e2e-health: oci case skipped: ${ociSkip}`);

describe.skipIf(ociSkip !== undefined)('health checks of a task in its own namespaces (oci, CNI)', () => {
  const dir = ociSkip === undefined ? tempDir('health-oci') : '';
  const bridge = `agh${randomBytes(3).toString('hex')}`;
  const network = `e2e-${bridge}`;
  let cluster: Cluster | undefined;
  let fw: TestFramework;

  beforeAll(async () => {
    const subnet = freeSubnet();
    writeBridgeNetwork(dir, { name: network, bridge, subnet });
    cluster = await startCluster({
      isolation: 'oci',
      extraArgs: ['--network_cni_config_dir', join(dir, 'net.d'), '--network_cni_plugins_dir', pluginDir!],
    });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-health-oci' });
  });

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
    try {
      execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
    } catch {
      // The bridge was never made.
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('probes HTTP inside the task\'s network namespace and COMMAND inside its mount namespace, and kills it once unhealthy', async () => {
    // Port 8080 of the task's own loopback: the host's 127.0.0.1:8080 is another place entirely.
    const serve = 'mkdir -p www && echo ok > www/index.html && touch /tmp/inside && exec busybox httpd -f -p 8080 -h www';
    const task: TaskInfo = {
      ...commandTask('isolated', serve, { resources: 'cpus:0.1;mem:64', killGraceMs: 1000 }),
      container: { type: 'MESOS', network_infos: [{ name: network }] },
      health_check: { type: 'HTTP', http: { port: 8080, path: '/index.html' }, delay_seconds: 0, interval_seconds: 0.5, grace_period_seconds: 15, consecutive_failures: 2 },
      // /tmp is the container's own tmpfs: the file exists only in its mount namespace.
      check: { type: 'COMMAND', command: { command: { value: 'test -f /tmp/inside' } }, delay_seconds: 0, interval_seconds: 0.5 },
    };
    await fw.launch([task], await fw.takeOffer('cpus:0.1;mem:64'));
    const running = await fw.waitForState('isolated', 'TASK_RUNNING', 30_000);
    await fw.until(() => updatesOf(fw, 'isolated').find((s) => s.healthy === true), 30_000, 'a healthy update through the namespace');
    await fw.until(
      () => updatesOf(fw, 'isolated').find((s) => checkStatus(s)?.command?.exit_code === 0),
      30_000,
      'the COMMAND check to pass in the mount namespace',
    );

    unlinkSync(join(sandboxOf(cluster!, running.container_status!.container_id!.value), 'www', 'index.html'));
    const killed = await fw.waitForTerminal('isolated', 30_000);
    expect(killed).toMatchObject({ state: 'TASK_KILLED', healthy: false });
    const unhealthy = updatesOf(fw, 'isolated').filter((s) => s.healthy === false && s.state === 'TASK_RUNNING');
    expect(unhealthy).toHaveLength(2);
    expect(unhealthy[0]!.message).toBe('HTTP GET http://127.0.0.1:8080/index.html answered 404');
  });
});
