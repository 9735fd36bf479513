/**
 * Task groups on `agora local` (posix): LAUNCH_GROUP runs agora's default executor, which starts
 * each task in a container nested in its own, shares its sandbox with them, and applies Mesos's
 * termination policy: one task fails or is killed, the others are killed and reported.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckStatusInfo, ExecutorInfo, Offer, TaskInfo, TaskStatus } from '../src/api/index.js';
import { parseResourceSpec } from '../src/cli/resources-spec.js';
import { type Cluster, masterState, processesUnder, runCli, startCluster, stopCluster, tempDir, waitUntil, waitForNoProcessesUnder } from './support/cluster.js';
import { TestFramework } from './support/framework.js';

let cluster: Cluster | undefined;
let fw: TestFramework;

beforeAll(async () => {
  cluster = await startCluster();
  fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-group' });
});

afterAll(async () => {
  await fw?.teardown().catch(() => undefined);
  await stopCluster(cluster);
});

function resources(spec: string) {
  const parsed = parseResourceSpec(spec);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

function executor(id: string): ExecutorInfo {
  return { type: 'DEFAULT', executor_id: { value: id }, resources: resources('cpus:0.1;mem:32;disk:32') };
}

function groupTask(taskId: string, command: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return { name: taskId, task_id: { value: taskId }, agent_id: { value: '' }, resources: resources('cpus:0.1;mem:32'), command: { value: command }, ...extra };
}

async function launchGroup(executorId: string, tasks: TaskInfo[], framework = fw): Promise<Offer> {
  const offer = await framework.takeOffer('cpus:1;mem:256');
  await framework.client.launchGroup(offer, executor(executorId), tasks);
  return offer;
}

describe('task groups', () => {
  it('kills and reports the other task of a group when one exits 1; the executor exits and its framework hears FAILURE', async () => {
    const offer = await launchGroup('group-fail', [
      groupTask('gf-fails', 'sleep 1; exit 1'),
      groupTask('gf-sleeps', 'sleep 120', { kill_policy: { grace_period: { nanoseconds: 500_000_000 } } }),
    ]);
    const failed = await fw.waitForTerminal('gf-fails', 20_000);
    expect(failed).toMatchObject({ state: 'TASK_FAILED', source: 'SOURCE_EXECUTOR', message: 'Command exited with status 1', executor_id: { value: 'group-fail' } });
    const killed = await fw.waitForTerminal('gf-sleeps', 20_000);
    expect(killed).toMatchObject({ state: 'TASK_KILLED', source: 'SOURCE_EXECUTOR' });
    expect(fw.states('gf-sleeps')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    expect(fw.states('gf-fails')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
    // Each task ran in its own container, nested in the executor's.
    const containers = [failed, killed].map((s) => s.container_status?.container_id);
    expect(containers[0]?.parent?.value).toBeDefined();
    expect(containers[0]?.parent?.value).toBe(containers[1]?.parent?.value);
    expect(containers[0]?.value).not.toBe(containers[1]?.value);

    // No group left: the default executor exits, its resources come back, the framework hears FAILURE.
    await fw.until(() => (fw.eventTypes.includes('FAILURE') ? true : undefined), 20_000, 'FAILURE for the executor');
    await waitUntil(async () => {
      const framework = (await masterState(cluster!)).frameworks.find((f) => f.id === fw.frameworkId);
      return framework !== undefined && (framework['executors'] as unknown[]).length === 0;
    }, 10_000, 'the executor gone from /master/state');
    expect(offer.agent_id.value).toBeTruthy();
    expect(processesUnder(cluster!.workDir).filter((p) => p.cmdline.includes('sleep 120'))).toEqual([]);
  });

  it('shares the executor sandbox: one task writes a file through a SANDBOX_PATH PARENT volume, the other reads it', async () => {
    const shared = {
      type: 'MESOS' as const,
      volumes: [{ mode: 'RW' as const, container_path: 'shared', source: { type: 'SANDBOX_PATH' as const, sandbox_path: { type: 'PARENT' as const, path: 'data' } } }],
    };
    await launchGroup('group-share', [
      groupTask('gs-writer', 'echo hello-from-writer > shared/greeting', { container: shared }),
      groupTask('gs-reader', 'for i in $(seq 100); do [ -s shared/greeting ] && break; sleep 0.1; done; cat shared/greeting; test "$(cat shared/greeting)" = hello-from-writer', { container: shared }),
    ]);
    const writer = await fw.waitForTerminal('gs-writer', 20_000);
    const reader = await fw.waitForTerminal('gs-reader', 20_000);
    expect(writer.state).toBe('TASK_FINISHED');
    expect(reader).toMatchObject({ state: 'TASK_FINISHED', message: 'Command exited with status 0' });

    // The reader's stdout is in its own sandbox, nested in the executor's and linked as tasks/<id>.
    const executorDir = sandboxOf(reader.container_status?.container_id?.parent?.value);
    expect(readFileSync(join(executorDir, 'data', 'greeting'), 'utf8')).toBe('hello-from-writer\n');
    const readerSandbox = join(executorDir, 'tasks', 'gs-reader');
    expect(readlinkSync(readerSandbox)).toBe(join('..', 'containers', reader.container_status!.container_id!.value));
    expect(readFileSync(join(readerSandbox, 'stdout'), 'utf8')).toContain('hello-from-writer');
    // agora task log finds it there too.
    const log = await runCli(['task', 'log', '--master', cluster!.master, 'gs-reader'], { timeoutMs: 30_000 });
    expect(log, log.stderr).toMatchObject({ code: 0, stdout: 'hello-from-writer\n' });
  });

  it('kills the whole group when the framework kills one task, with TASK_KILLING first', async () => {
    await launchGroup('group-kill', [groupTask('gk-a', 'sleep 120'), groupTask('gk-b', 'sleep 120')]);
    await fw.waitForState('gk-a', 'TASK_RUNNING', 20_000);
    await fw.waitForState('gk-b', 'TASK_RUNNING', 20_000);
    await fw.client.kill('gk-a');
    for (const id of ['gk-a', 'gk-b']) {
      expect((await fw.waitForTerminal(id, 20_000)).state).toBe('TASK_KILLED');
      expect(fw.states(id)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    }
  });
});

describe('health checks and checks of a group\'s tasks (run by the default executor)', () => {
  it('reports check_status and health, and kills the group once a task is unhealthy consecutive_failures times', async () => {
    const port = await freePort();
    // A server that is healthy while the file 'healthy' is in its sandbox.
    const serve = `touch healthy && exec node -e "const fs = require('fs'); require('http').createServer((q, r) => { r.statusCode = fs.existsSync('healthy') ? 200 : 503; r.end(); }).listen(${port}, '127.0.0.1')"`;
    await launchGroup('group-health', [
      groupTask('gh-web', serve, {
        health_check: { type: 'HTTP', http: { port, path: '/' }, delay_seconds: 0, interval_seconds: 0.3, grace_period_seconds: 20, consecutive_failures: 2 },
        // COMMAND checks run in the task's container, in its sandbox, as a nested debug session.
        check: { type: 'COMMAND', command: { command: { value: 'test -f healthy' } }, delay_seconds: 0, interval_seconds: 0.3 },
        kill_policy: { grace_period: { nanoseconds: 1_000_000_000 } },
      }),
      // TCP checks, like HTTP ones, go from the executor to the loopback its tasks share.
      groupTask('gh-sidecar', 'sleep 120', { check: { type: 'TCP', tcp: { port }, delay_seconds: 0, interval_seconds: 0.3 } }),
    ]);
    const running = await fw.waitForState('gh-web', 'TASK_RUNNING', 20_000);
    expect(running.check_status).toEqual({ type: 'COMMAND', command: {} });
    const passing = await fw.until(() => updates('gh-web').find((s) => checkStatus(s)?.command?.exit_code === 0), 20_000, 'the COMMAND check to pass');
    expect(passing.reason).toBe('REASON_TASK_CHECK_STATUS_UPDATED');
    const healthy = await fw.until(() => updates('gh-web').find((s) => s.healthy === true), 20_000, 'a healthy update');
    expect(healthy).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', source: 'SOURCE_EXECUTOR' });

    await fw.until(() => updates('gh-sidecar').find((s) => checkStatus(s)?.tcp?.succeeded === true), 20_000, "the sidecar's TCP check to connect");

    unlinkSync(join(sandboxOf(running.container_status!.container_id!.parent!.value), 'tasks', 'gh-web', 'healthy'));
    const killed = await fw.waitForTerminal('gh-web', 20_000);
    expect(killed).toMatchObject({ state: 'TASK_KILLED', healthy: false });
    expect(killed.message).toMatch(/^Task killed after failing its health check; /);
    // Check updates carry the latest health too: count the health updates alone.
    const unhealthy = updates('gh-web').filter((s) => s.reason === 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' && s.healthy === false);
    expect(unhealthy).toHaveLength(2);
    expect(unhealthy[0]!.message).toBe(`HTTP GET http://127.0.0.1:${port}/ answered 503`);
    expect(updates('gh-web').some((s) => checkStatus(s)?.command?.exit_code === 1)).toBe(true);
    expect((await fw.waitForTerminal('gh-sidecar', 20_000)).state).toBe('TASK_KILLED');
    expect(fw.states('gh-web').slice(-2)).toEqual(['TASK_KILLING', 'TASK_KILLED']);
  });
});

describe('agora execute --group', () => {
  // The test framework above holds every offer it gets; it leaves the agent to agora execute.
  beforeAll(async () => {
    await fw.teardown();
  });

  const small = [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 32 } }];

  it('runs a TaskGroupInfo from a file, prints each task\'s states, and exits with the status of the task that failed', async () => {
    const file = join(tempDir('group-cli'), 'group.json');
    writeFileSync(
      file,
      JSON.stringify({
        tasks: [
          { name: 'cli-three', command: { value: 'sleep 0.5; exit 3' }, resources: small },
          { name: 'cli-sleeper', command: { value: 'sleep 120' }, resources: small },
        ],
      }),
    );
    const r = await runCli(['execute', '--master', cluster!.master, '--name', 'cli-group', '--group', file], { timeoutMs: 40_000 });
    expect(r.stdout).toMatch(/Submitted task group of 'cli-three', 'cli-sleeper' to agent/);
    expect(r.stdout).toMatch(/Received status update TASK_RUNNING for task 'cli-three'/);
    expect(r.stdout).toMatch(/Received status update TASK_FAILED for task 'cli-three'\n  message: 'Command exited with status 3'/);
    expect(r.stdout).toMatch(/Received status update TASK_KILLING for task 'cli-sleeper'/);
    expect(r.stdout).toMatch(/Received status update TASK_KILLED for task 'cli-sleeper'/);
    expect(r.code).toBe(3);
  });

  it('exits 0 when every task of the group finished (mesos-execute spells it --task_group)', async () => {
    const group = { tasks: [{ name: 'ok-a', command: { value: 'true' }, resources: small }, { name: 'ok-b', command: { value: 'true' }, resources: small }] };
    const r = await runCli(['execute', '--master', cluster!.master, '--task_group', JSON.stringify(group)], { timeoutMs: 40_000 });
    expect(r.stdout).toMatch(/TASK_FINISHED for task 'ok-a'/);
    expect(r.stdout).toMatch(/TASK_FINISHED for task 'ok-b'/);
    expect(r.code).toBe(0);
  });

  it('refuses a group the master finds invalid, with the reason', async () => {
    const group = { tasks: [{ name: 'no-resources', command: { value: 'true' } }] };
    const r = await runCli(['execute', '--master', cluster!.master, '--group', JSON.stringify(group), '--executor_resources', 'cpus:0.1;mem:32;disk:32'], { timeoutMs: 40_000 });
    expect(r.stdout).toMatch(/TASK_ERROR for task 'no-resources'/);
    expect(r.stdout).toMatch(/reason: REASON_TASK_GROUP_INVALID/);
    expect(r.code).toBe(1);
  });
});

// After 'agora execute --group' (which tore the first framework down): a framework without TASK_KILLING_STATE.
describe('kills in a group', () => {
  let plain: TestFramework;
  beforeAll(async () => {
    await fw.teardown(); // Done already, unless the cases above were filtered out.
    plain = await TestFramework.subscribe({ master: cluster!.master, name: 'e2e-group-plain', info: { capabilities: [{ type: 'PARTITION_AWARE' }] } });
  });
  afterAll(async () => {
    await plain?.teardown().catch(() => undefined);
  });

  // SIGTERM is trapped (and noted in a file); only SIGKILL, after the grace period, ends the task.
  const stubborn = "trap 'echo term >> got-term' TERM; while :; do sleep 0.1; done";

  it("gives each task its kill policy's grace period, the KILL's kill_policy overriding it; no TASK_KILLING without TASK_KILLING_STATE", async () => {
    await launchGroup(
      'group-grace',
      [
        // The KILL's 0.3 s overrides this task's 60 s: it ends well within the wait below.
        groupTask('gg-named', stubborn, { kill_policy: { grace_period: { nanoseconds: 60e9 } } }),
        groupTask('gg-sibling', stubborn, { kill_policy: { grace_period: { nanoseconds: 0.5e9 } } }),
      ],
      plain,
    );
    const running = await plain.waitForState('gg-named', 'TASK_RUNNING', 20_000);
    await plain.waitForState('gg-sibling', 'TASK_RUNNING', 20_000);
    await plain.client.kill('gg-named', running.agent_id?.value, 300);
    const executorDir = sandboxOf(running.container_status!.container_id!.parent!.value);
    for (const id of ['gg-named', 'gg-sibling']) {
      const killed = await plain.waitForTerminal(id, 20_000);
      expect(killed).toMatchObject({ state: 'TASK_KILLED', message: 'Command terminated with signal Killed' });
      expect(plain.states(id)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
      // It had SIGTERM first, and lived through it until the SIGKILL.
      expect(readFileSync(join(executorDir, 'tasks', id, 'got-term'), 'utf8')).toMatch(/^term\n/);
    }
  });

  it('ends the unfinished tasks of a default executor killed with SIGKILL as TASK_FAILED, with FAILURE to the framework', async () => {
    await launchGroup('group-crash', [groupTask('gc-a', 'sleep 120'), groupTask('gc-b', 'sleep 120')], plain);
    const running = await plain.waitForState('gc-a', 'TASK_RUNNING', 20_000);
    await plain.waitForState('gc-b', 'TASK_RUNNING', 20_000);
    const executorDir = sandboxOf(running.container_status!.container_id!.parent!.value);
    const executorProcess = processesUnder(executorDir).find((p) => p.cmdline.includes('default-executor'));
    expect(executorProcess, `the default executor's process under ${executorDir}`).toBeDefined();
    process.kill(executorProcess!.pid, 'SIGKILL');
    for (const id of ['gc-a', 'gc-b']) {
      expect(await plain.waitForTerminal(id, 20_000)).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', source: 'SOURCE_AGENT' });
    }
    await plain.until(() => (plain.eventTypes.includes('FAILURE') ? true : undefined), 20_000, 'FAILURE for the executor');
    // Its tasks' containers are destroyed with it.
    expect(await waitForNoProcessesUnder(executorDir, 10_000)).toEqual([]);
  });
});

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

/** TaskStatus.check_status, which the wire schema keeps opaque. */
const checkStatus = (s: TaskStatus) => s.check_status as CheckStatusInfo | undefined;

/** A task's updates, each once (a retried update arrives again with the same uuid). */
function updates(taskId: string): TaskStatus[] {
  const seen = new Set<string>();
  return (fw.statuses.get(taskId) ?? []).filter((s) => (s.uuid === undefined || seen.has(s.uuid) ? false : (seen.add(s.uuid), true)));
}

/** The sandbox of a container: `<work_dir>/.../executors/<id>/runs/<container id>`, found on disk. */
function sandboxOf(containerId: string | undefined): string {
  if (containerId === undefined) throw new Error('no executor container id');
  const found = execFileSync('find', [cluster!.workDir, '-type', 'd', '-name', containerId, '-path', '*/runs/*', '-not', '-path', '*/meta/*'], { encoding: 'utf8' });
  const path = found.trim().split('\n')[0];
  if (path === undefined || path === '') throw new Error(`no sandbox for container ${containerId}`);
  return path;
}
