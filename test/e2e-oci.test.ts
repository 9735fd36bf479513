/**
 * Tasks on `agora local --isolation oci`, with real crun (or runc), conmon and cgroups: limits
 * in the cgroup files, OOM and disk limitations reported with Mesos's reasons, a private pid
 * namespace, usage in /monitor/statistics and GET_CONTAINERS, and containers that outlive a
 * SIGKILLed agent with their exit status recorded by their monitor.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStatus } from '../src/api/index.js';
import { request } from '../src/http/index.js';
import { type Cluster, getJson, isAlive, startCluster, stopCluster, waitUntil } from './support/cluster.js';
import { commandTask, TestFramework } from './support/framework.js';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: containers need namespaces and cgroups';
  const has = (name: string) => ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin', '/sbin'].some((d) => existsSync(join(d, name)));
  if (!has('crun') && !has('runc')) return 'neither crun nor runc is installed (apt-get install crun)';
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) console.log(`e2e-oci: skipped: ${skip}`);

const AGENT_RESOURCES = 'cpus:4;mem:4096;disk:4096;ports:[31000-32000]';

/** The cgroup directory of `containerId` for `controller` (v1), or the unified one (v2). */
function cgroupDir(controller: string, containerId: string): string {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  return v2 ? `/sys/fs/cgroup/agora/${containerId}` : `/sys/fs/cgroup/${controller}/agora/${containerId}`;
}

function containerIdOf(status: TaskStatus): string {
  const id = status.container_status?.container_id?.value;
  if (id === undefined) throw new Error(`no container id in ${JSON.stringify(status)}`);
  return id;
}

/** The latest run directory of `taskId` under the cluster's agents. */
function sandboxOf(cluster: Cluster, taskId: string): string {
  const agents = join(cluster.workDir, 'agents');
  for (const agent of readdirSync(agents)) {
    const slaves = join(agents, agent, 'slaves');
    if (!existsSync(slaves)) continue;
    for (const slave of readdirSync(slaves)) {
      const frameworks = join(slaves, slave, 'frameworks');
      for (const framework of existsSync(frameworks) ? readdirSync(frameworks) : []) {
        const latest = join(frameworks, framework, 'executors', taskId, 'runs', 'latest');
        if (existsSync(latest)) return latest;
      }
    }
  }
  throw new Error(`no sandbox for ${taskId}`);
}

describe.skipIf(skip !== undefined)('tasks in OCI containers', () => {
  let cluster: Cluster | undefined;
  let fw: TestFramework;
  let agentUrl: string;

  beforeAll(async () => {
    cluster = await startCluster({
      resources: AGENT_RESOURCES,
      isolation: 'oci',
      extraArgs: ['--container_disk_watch_interval', '300ms'],
    });
    fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-oci' });
    agentUrl = /^\s*agent\s+(http:\/\/\S+)/m.exec(cluster.stdout())![1]!;
  });

  afterAll(async () => {
    await fw?.teardown().catch(() => undefined);
    await stopCluster(cluster);
  });

  async function run(taskId: string, command: string, resources: string): Promise<void> {
    await fw.launch([commandTask(taskId, command, { resources })], await fw.takeOffer(resources));
  }

  it('says at start that it runs tasks in OCI containers, and why', () => {
    expect(cluster!.stdout()).toMatch(/isolation oci: .*(crun|runc)/);
  });

  it('fails a task that outgrows its memory with REASON_CONTAINER_LIMITATION_MEMORY', async () => {
    await run('hog', "x=a; while true; do x=$x$x; done", 'cpus:1;mem:32');
    const failed = await fw.waitForTerminal('hog', 30_000);
    expect(failed).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY', source: 'SOURCE_AGENT' });
    expect(failed.message).toMatch(/^Memory limit exceeded: Requested: 32MB/);
    expect(failed.limitation).toEqual({ resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 32 } }] });
  });

  it('puts the cpu, memory and pids limits in the cgroup files, and reports them with usage', async () => {
    const running = await (async () => {
      await run('limited', 'sleep 60', 'cpus:0.5;mem:64');
      return fw.waitForState('limited', 'TASK_RUNNING');
    })();
    const containerId = containerIdOf(running);
    const read = (controller: string, file: string) => readFileSync(join(cgroupDir(controller, containerId), file), 'utf8').trim();
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      expect(read('memory', 'memory.max')).toBe(String(64 * 1024 * 1024));
      expect(read('cpu', 'cpu.max')).toBe('50000 100000');
      expect(read('pids', 'pids.max')).toBe('4096');
    } else {
      expect(read('memory', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
      expect(read('cpu', 'cpu.shares')).toBe('512');
      expect(read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
      expect(read('cpu', 'cpu.cfs_period_us')).toBe('100000');
      expect(read('pids', 'pids.max')).toBe('4096');
    }

    const statistics = await getJson<Array<{ executor_id: string; framework_id: string; statistics: Record<string, number> }>>(
      `${agentUrl}/monitor/statistics`,
    );
    const entry = statistics.find((s) => s.executor_id === 'limited');
    expect(entry?.statistics).toMatchObject({ cpus_limit: 0.5, mem_limit_bytes: 64 * 1024 * 1024 });
    for (const field of ['cpus_user_time_secs', 'cpus_system_time_secs', 'mem_rss_bytes', 'mem_total_bytes', 'processes', 'timestamp']) {
      expect(entry?.statistics[field], field).toBeTypeOf('number');
    }
    expect(await getJson(`${agentUrl}/slave(1)/monitor/statistics`)).toHaveLength(statistics.length);

    const response = await request(`${agentUrl}/api/v1`, JSON.stringify({ type: 'GET_CONTAINERS' }));
    expect(response.status).toBe(200);
    const body = JSON.parse(response.text) as { type: string; get_containers: { containers: Array<Record<string, unknown>> } };
    expect(body.type).toBe('GET_CONTAINERS');
    const container = body.get_containers.containers.find((c) => (c['executor_id'] as { value: string }).value === 'limited');
    expect(container).toMatchObject({
      container_id: { value: containerId },
      resource_statistics: { cpus_limit: 0.5, mem_limit_bytes: 64 * 1024 * 1024 },
    });

    await fw.client.kill('limited');
    expect((await fw.waitForTerminal('limited')).state).toBe('TASK_KILLED');
    await waitUntil(() => !existsSync(cgroupDir('memory', containerId)), 5_000, 'the cgroup to be removed');
  });

  it('answers operator calls it does not implement with 501, naming the call', async () => {
    const response = await request(`${agentUrl}/api/v1`, JSON.stringify({ type: 'PRUNE_IMAGES' }));
    expect(response.status).toBe(501);
    expect(response.text).toMatch(/PRUNE_IMAGES/);
  });

  it('gives a task its own pid namespace: ps sees only the task', async () => {
    await run('ps', 'ps -e -o pid=,comm=', 'cpus:0.5;mem:64');
    expect((await fw.waitForTerminal('ps', 20_000)).state).toBe('TASK_FINISHED');
    const lines = readFileSync(join(sandboxOf(cluster!, 'ps'), 'stdout'), 'utf8').trim().split('\n');
    const processes = lines.map((l) => l.trim().split(/\s+/)).map(([pid, comm]) => ({ pid: Number(pid), comm }));
    expect(processes.map((p) => p.pid)).toContain(1);
    // tini as pid 1 ("init"), the shell unless it exec'd ps, and ps: nothing of the host's.
    for (const p of processes) expect(['init', 'sh', 'ps'], `${p.pid} ${p.comm}`).toContain(p.comm);
    expect(processes.length).toBeLessThanOrEqual(3);
  });

  it('mounts the sandbox writable at MESOS_SANDBOX and the rest of the host read-only', async () => {
    const script = [
      'test "$MESOS_SANDBOX" = "$(pwd)"',
      'echo inside > "$MESOS_SANDBOX/written"',
      'if touch /usr/agora-must-not-exist 2>/dev/null; then exit 9; fi',
      'echo tmp > /tmp/private',
    ].join(' && ');
    await run('fs', script, 'cpus:0.5;mem:64');
    const done = await fw.waitForTerminal('fs', 20_000);
    expect(done.state, done.message).toBe('TASK_FINISHED');
    expect(readFileSync(join(sandboxOf(cluster!, 'fs'), 'written'), 'utf8')).toBe('inside\n');
    expect(existsSync('/usr/agora-must-not-exist')).toBe(false);
  });

  it('kills a task with SIGTERM through its init, well before the grace period', async () => {
    const task = commandTask('term', 'sleep', { resources: 'cpus:0.5;mem:64', killGraceMs: 20_000 });
    task.command = { shell: false, value: 'sleep', arguments: ['sleep', '120'] };
    await fw.launch([task], await fw.takeOffer('cpus:0.5;mem:64'));
    await fw.waitForState('term', 'TASK_RUNNING');
    const started = Date.now();
    await fw.client.kill('term');
    const killed = await fw.waitForTerminal('term', 25_000);
    expect(killed.state).toBe('TASK_KILLED');
    expect(killed.message).toMatch(/signal Terminated/);
    // Well under the 20 s grace period, with room for a loaded machine: SIGKILL would come at 20 s.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('fails a task that fills more disk than its disk resource with REASON_CONTAINER_LIMITATION_DISK', async () => {
    await run('filler', 'dd if=/dev/zero of=big bs=1M count=8 2>/dev/null; sleep 60', 'cpus:0.5;mem:64;disk:2');
    const failed = await fw.waitForTerminal('filler', 20_000);
    expect(failed).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_DISK', source: 'SOURCE_AGENT' });
    // The watch may catch dd part way (a loaded machine), so any usage over the quota will do.
    const usage = /^Disk usage \((\d+(?:\.\d)?)MB\) exceeds quota \(2MB\)$/.exec(failed.message ?? '');
    expect(usage, failed.message).not.toBeNull();
    expect(Number(usage![1])).toBeGreaterThan(2);
    expect(failed.limitation).toEqual({ resources: [{ name: 'disk', type: 'SCALAR', scalar: { value: 2 } }] });
  });
});

describe.skipIf(skip !== undefined)('a container outlives its agent', () => {
  let cluster: Cluster | undefined;
  let containerDir: string | undefined;
  let runtimeDir: string | undefined;
  let containerId: string | undefined;

  afterAll(async () => {
    // The agent is gone: delete the container it left, as the next agent start would.
    if (runtimeDir !== undefined && containerId !== undefined) {
      for (const runtime of ['crun', 'runc']) {
        try {
          execFileSync(runtime, ['--root', join(runtimeDir, 'runtime'), 'delete', '--force', containerId], { stdio: 'ignore' });
          break;
        } catch {
          // Not this runtime, or gone already.
        }
      }
    }
    if (cluster !== undefined) rmSync(cluster.workDir, { recursive: true, force: true });
  });

  it('keeps running when the agent is SIGKILLed, and its monitor records the exit status', async () => {
    cluster = await startCluster({ resources: AGENT_RESOURCES, isolation: 'oci' });
    const fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-oci-orphan' });
    const resources = 'cpus:0.5;mem:64';
    // Runs on after the agent dies, then leaves a mark in its sandbox and exits 7.
    const command = 'while [ ! -e "$MESOS_SANDBOX/go" ]; do sleep 0.05; done; echo finished > "$MESOS_SANDBOX/mark"; exit 7';
    await fw.launch([commandTask('orphan', command, { resources })], await fw.takeOffer(resources));
    containerId = containerIdOf(await fw.waitForState('orphan', 'TASK_RUNNING'));
    const sandbox = sandboxOf(cluster, 'orphan');
    fw.close();

    runtimeDir = join(cluster.workDir, 'agents', '0', 'runtime');
    containerDir = join(runtimeDir, 'containers', containerId);
    const pid = Number(readFileSync(join(containerDir, 'pid'), 'utf8').trim());
    const monitorPid = Number(readFileSync(join(containerDir, 'conmon.pid'), 'utf8').trim());
    expect(isAlive(pid)).toBe(true);

    expect((await cluster.stop('SIGKILL')).signal).toBe('SIGKILL');
    expect(isAlive(pid), 'the container died with its agent').toBe(true);
    expect(isAlive(monitorPid), 'the monitor died with its agent').toBe(true);
    const exitFile = join(runtimeDir, 'exits', containerId);
    expect(existsSync(exitFile)).toBe(false);

    execFileSync('touch', [join(sandbox, 'go')]);
    await waitUntil(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', 10_000, 'the exit status to be recorded');
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('7');
    expect(readFileSync(join(sandbox, 'mark'), 'utf8')).toBe('finished\n');
    await waitUntil(() => !isAlive(monitorPid), 5_000, 'the monitor to exit after its container');
  });
});
