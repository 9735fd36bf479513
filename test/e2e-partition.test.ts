/**
 * Partitions end to end (facts 7.3): `agora master` with short ping timeouts and an `agora agent`
 * process made unreachable for real by SIGSTOP. A partition-aware framework hears
 * TASK_UNREACHABLE and another TASK_LOST while the tasks keep running; after SIGCONT the agent
 * re-registers with its id, both frameworks hear TASK_RUNNING again, and the task of a framework
 * torn down meanwhile is killed on the agent. MARK_AGENT_GONE then gives TASK_GONE_BY_OPERATOR,
 * the agent kills its tasks, and an agent that tries to come back with that id is refused.
 * A second master prunes its registry by --registry_max_agent_count and --registry_max_agent_age.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_LINK_PATH, type TaskStatus } from '../src/api/index.js';
import { openEventStream, request } from '../src/http/index.js';
import { getJson, isAlive, runCli, waitUntil } from './support/cluster.js';
import { TestFramework, commandTask } from './support/framework.js';
import { type Daemon, startAgentProcess, startMasterProcess } from './support/processes.js';
import { scratch } from './support/scratch.js';

const RESOURCES = 'cpus:2;mem:512;disk:500;ports:[31000-31010]';
const { cleanup, dir } = scratch();

async function operator(master: string, call: unknown): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const response = await request(`${master}/api/v1`, JSON.stringify(call), { timeoutMs: 10_000 });
  const json = response.status === 200 && response.text !== '';
  return { status: response.status, text: response.text, body: json ? (JSON.parse(response.text) as Record<string, unknown>) : {} };
}

interface RegistryFile {
  agents: Array<{ info: { id: { value: string } } }>;
  unreachable: Array<{ id: { value: string } }>;
  gone: Array<{ id: { value: string } }>;
}

const registryOf = (masterDir: string) => JSON.parse(readFileSync(join(masterDir, 'registry.json'), 'utf8')) as RegistryFile;
const ids = (list: Array<{ id: { value: string } }>) => list.map((e) => e.id.value).sort();

/** Runs `sleep` as a task and returns the pid it wrote, once the framework has acknowledged TASK_RUNNING. */
async function startSleeper(fw: TestFramework, taskId: string, pids: string): Promise<number> {
  const pidFile = join(pids, taskId);
  await fw.launch([commandTask(taskId, `echo $$ > ${pidFile}; exec sleep 300`)]);
  await fw.waitForState(taskId, 'TASK_RUNNING');
  await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, `the pid of ${taskId}`);
  await fw.acksSettled();
  return Number(readFileSync(pidFile, 'utf8').trim());
}

const latest = (fw: TestFramework, taskId: string): TaskStatus | undefined => fw.statuses.get(taskId)?.at(-1);

function waitForUpdate(fw: TestFramework, taskId: string, match: (s: TaskStatus) => boolean, what: string, timeoutMs = 15_000): Promise<TaskStatus> {
  return fw.until(() => fw.statuses.get(taskId)?.find(match), timeoutMs, what);
}

describe('partitions', () => {
  it('refuses ping flags that make no sense, naming the flag', async () => {
    const workDir = dir('partition-flags');
    const master = (flag: string) => runCli(['master', '--port', '0', '--work-dir', workDir, flag]);
    const [zero, none, unit, rate] = await Promise.all([
      master('--agent_ping_timeout=0secs'),
      master('--max_agent_ping_timeouts=0'),
      master('--agent_ping_timeout=3parsecs'),
      master('--agent_removal_rate_limit=fast'),
    ]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('--agent_ping_timeout must be a positive duration');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('--max_agent_ping_timeouts: "0" is not a whole number >= 1');
    expect(unit.code).not.toBe(0);
    expect(unit.stderr).toContain('--agent_ping_timeout: "3parsecs" has unknown unit');
    expect(rate.code).toBe(1);
    expect(rate.stderr).toContain('--agent_removal_rate_limit: "fast" is not a rate; write agents per duration, e.g. "1/10mins"');
  });

  it('an agent stopped with SIGSTOP is unreachable, comes back with its tasks after SIGCONT, and is refused once marked gone', async () => {
    const masterDir = dir('partition-master');
    const master = await startMasterProcess(masterDir, [
      '--hostname',
      '127.0.0.1',
      '--agent_ping_timeout=250ms',
      '--max_agent_ping_timeouts=4',
      '--agent_removal_rate_limit=10/1secs',
    ]);
    cleanup.push(() => master.stop());
    const flags = (await getJson<{ flags: Record<string, string> }>(`${master.url}/master/flags`)).flags;
    expect(flags).toMatchObject({ agent_ping_timeout: '250ms', max_agent_ping_timeouts: '4', agent_removal_rate_limit: '10/1secs' });
    const agentDir = dir('partition-agent');
    const agent: Daemon = await startAgentProcess(master.hostPort, agentDir, RESOURCES, ['--isolation', 'posix']);
    cleanup.push(async () => {
      process.kill(agent.pid, 'SIGCONT');
      return agent.stop();
    });
    const pids = dir('partition-pids');

    const checkpointing = { checkpoint: true, failover_timeout: 300 };
    const aware = await TestFramework.subscribe({ master: master.hostPort, name: 'aware', info: checkpointing });
    const plain = await TestFramework.subscribe({ master: master.hostPort, name: 'plain', info: { ...checkpointing, capabilities: [] } });
    const doomed = await TestFramework.subscribe({ master: master.hostPort, name: 'doomed', info: checkpointing });
    for (const fw of [aware, plain, doomed]) cleanup.push(() => fw.teardown());
    const pid = {
      aware: await startSleeper(aware, 'ta', pids),
      plain: await startSleeper(plain, 'tp', pids),
      doomed: await startSleeper(doomed, 'td', pids),
    };
    const agentId = latest(aware, 'ta')!.agent_id!.value;

    // The agent process stops answering; its tasks, processes of their own, keep running.
    process.kill(agent.pid, 'SIGSTOP');
    const unreachable = await waitForUpdate(aware, 'ta', (s) => s.state === 'TASK_UNREACHABLE', 'TASK_UNREACHABLE');
    expect(unreachable).toMatchObject({ reason: 'REASON_AGENT_REMOVED', source: 'SOURCE_MASTER', unreachable_time: expect.anything() });
    expect(await waitForUpdate(plain, 'tp', (s) => s.state === 'TASK_LOST', 'TASK_LOST')).toMatchObject({ reason: 'REASON_AGENT_REMOVED' });
    await waitForUpdate(doomed, 'td', (s) => s.state === 'TASK_UNREACHABLE', 'TASK_UNREACHABLE for the doomed task');
    expect(registryOf(masterDir).unreachable.map((u) => u.id.value)).toEqual([agentId]);
    const tasksWhileAway = (await operator(master.url, { type: 'GET_TASKS' })).body['get_tasks'] as Record<string, Array<{ task_id: { value: string } }>>;
    expect(tasksWhileAway['unreachable_tasks']!.map((t) => t.task_id.value).sort()).toEqual(['ta', 'td', 'tp']);
    expect(tasksWhileAway['tasks']).toEqual([]);
    const metricsAway = await getJson<Record<string, number>>(`${master.url}/metrics/snapshot`);
    expect(metricsAway).toMatchObject({ 'master/tasks_unreachable': 3, 'master/tasks_running': 0, 'master/slaves_unreachable': 1 });
    expect([pid.aware, pid.plain, pid.doomed].every(isAlive)).toBe(true);

    // One framework goes away while the agent is away: its task must not survive the agent's return.
    expect((await doomed.client.teardown()).status).toBe(202);

    process.kill(agent.pid, 'SIGCONT');
    const back = (s: TaskStatus) => s.state === 'TASK_RUNNING' && s.reason === 'REASON_AGENT_REREGISTERED';
    expect(await waitForUpdate(aware, 'ta', back, 'TASK_RUNNING after the agent re-registered')).toMatchObject({ source: 'SOURCE_MASTER', agent_id: { value: agentId } });
    await waitForUpdate(plain, 'tp', back, 'TASK_RUNNING for the task that was reported TASK_LOST');
    await waitUntil(() => !isAlive(pid.doomed), 15_000, 'the task of the torn-down framework killed on the agent');
    expect([pid.aware, pid.plain].every(isAlive)).toBe(true);
    await aware.client.reconcile([{ taskId: 'ta', agentId }]);
    await waitForUpdate(aware, 'ta', (s) => s.state === 'TASK_RUNNING' && s.reason === 'REASON_RECONCILIATION', 'reconciliation');
    const agents = (await operator(master.url, { type: 'GET_AGENTS' })).body['get_agents'] as { agents: Array<{ agent_info: { id: { value: string } } }> };
    expect(agents.agents.map((a) => a.agent_info.id.value)).toEqual([agentId]);
    await waitUntil(
      async () => {
        const m = await getJson<Record<string, number>>(`${master.url}/metrics/snapshot`);
        return m['master/tasks_running'] === 2 && m['master/tasks_unreachable'] === 0 && m['master/slaves_unreachable'] === 0;
      },
      10_000,
      'the metrics to count the tasks running again',
    );
    const state = await getJson<{ frameworks: Array<{ name: string; tasks: Array<{ id: string; state: string }>; unreachable_tasks: unknown[] }> }>(`${master.url}/master/state`);
    for (const [name, taskId] of [['aware', 'ta'], ['plain', 'tp']]) {
      const framework = state.frameworks.find((f) => f.name === name)!;
      expect(framework.tasks.map((t) => [t.id, t.state])).toEqual([[taskId, 'TASK_RUNNING']]);
      expect(framework.unreachable_tasks).toEqual([]);
    }
    expect(registryOf(masterDir).unreachable).toEqual([]);

    // The operator says the machine is gone for good.
    expect((await operator(master.url, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: agentId } } })).status).toBe(200);
    expect(ids(registryOf(masterDir).gone)).toEqual([agentId]);
    const goneStatus = await waitForUpdate(aware, 'ta', (s) => s.state === 'TASK_GONE_BY_OPERATOR', 'TASK_GONE_BY_OPERATOR');
    expect(goneStatus).toMatchObject({ reason: 'REASON_AGENT_REMOVED_BY_OPERATOR', source: 'SOURCE_MASTER' });
    const lost = await waitForUpdate(plain, 'tp', (s) => s.state === 'TASK_LOST' && s.reason === 'REASON_AGENT_REMOVED_BY_OPERATOR', 'TASK_LOST by operator');
    expect(lost.source).toBe('SOURCE_MASTER');
    // The agent obeys the master's SHUTDOWN: it kills its tasks (and then stops, below).
    await waitUntil(() => !isAlive(pid.aware) && !isAlive(pid.plain), 20_000, 'the gone agent to kill its tasks');
    expect((await operator(master.url, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: agentId } } })).status).toBe(200);
    const unknown = await operator(master.url, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: 'no-such-agent' } } });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain("Agent 'no-such-agent' not found");

    // An agent that comes back with the gone id is told to shut down, with Mesos's answer.
    const comeback = await openEventStream(`${master.url}${AGENT_LINK_PATH}`, {
      type: 'SUBSCRIBE',
      subscribe: { agent_info: { hostname: '127.0.0.1', id: { value: agentId }, resources: [] }, endpoint: { ip: '127.0.0.1', port: 1 }, version: 'test' },
    });
    const events: Array<{ type: string; shutdown?: { message: string } }> = [];
    for await (const event of comeback.events) events.push(event as (typeof events)[number]);
    expect(events.map((e) => e.type)).toEqual(['SHUTDOWN']);
    expect(events[0]!.shutdown!.message).toMatch(/^Agent has been marked gone/);
    const after = (await operator(master.url, { type: 'GET_AGENTS' })).body['get_agents'] as { agents: unknown[]; recovered_agents: unknown[] };
    expect(after).toEqual({ agents: [], recovered_agents: [] });
    // The agent process itself has stopped: nothing of it is left to come back.
    await waitUntil(() => !isAlive(agent.pid), 15_000, 'the agent process to exit after SHUTDOWN');
    expect(agent.stderr()).toContain('Agent has been marked gone');
    // Started again on its work dir, it has forgotten the gone id (as Mesos's agent): it joins as a new agent.
    const reborn = await startAgentProcess(master.hostPort, agentDir, RESOURCES, ['--isolation', 'posix']);
    cleanup.push(() => reborn.stop());
    const listed = async () => ((await operator(master.url, { type: 'GET_AGENTS' })).body['get_agents'] as { agents: Array<{ agent_info: { id: { value: string } } }> }).agents;
    await waitUntil(async () => (await listed()).length === 1, 15_000, 'the restarted agent registered');
    expect((await listed())[0]!.agent_info.id.value).not.toBe(agentId);
  });

  it('prunes unreachable and gone agents from the registry by --registry_max_agent_count and --registry_max_agent_age', async () => {
    const masterDir = dir('prune-master');
    // No entry is old enough for --registry_max_agent_age (2weeks) here: only the count prunes.
    const master = await startMasterProcess(masterDir, ['--agent_reregister_timeout=1secs', '--registry_gc_interval=300ms', '--registry_max_agent_count=1']);
    cleanup.push(() => master.stop());
    const started: Daemon[] = [];
    for (const name of ['first', 'second']) {
      const agent = await startAgentProcess(master.hostPort, dir(`prune-agent-${name}`), RESOURCES, ['--isolation', 'posix']);
      started.push(agent);
      cleanup.push(() => agent.stop());
    }
    const agentIds = async () => ((await operator(master.url, { type: 'GET_AGENTS' })).body['get_agents'] as { agents: Array<{ agent_info: { id: { value: string } }; pid: string }> }).agents;
    await waitUntil(async () => (await agentIds()).length === 2, 15_000, 'both agents registered');
    const port = (d: Daemon) => d.hostPort.split(':')[1]!;
    const idOf = async (d: Daemon) => (await agentIds()).find((a) => a.pid.endsWith(`:${port(d)}`))!.agent_info.id.value;
    const first = await idOf(started[0]!);
    const second = await idOf(started[1]!);

    // The first is marked gone; the second dies and is unreachable once it misses --agent_reregister_timeout.
    expect((await operator(master.url, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: first } } })).status).toBe(200);
    await started[1]!.stop('SIGKILL');
    await waitUntil(() => ids(registryOf(masterDir).unreachable).includes(second), 15_000, 'the dead agent unreachable in the registry');
    expect(ids(registryOf(masterDir).gone)).toEqual([first]);
    // Marked gone as well: two gone agents, one more than --registry_max_agent_count keeps, so the older goes.
    expect((await operator(master.url, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: second } } })).status).toBe(200);
    await waitUntil(() => ids(registryOf(masterDir).gone).join() === second, 5_000, 'the older gone agent pruned by count');
    expect(registryOf(masterDir).unreachable).toEqual([]);

    // The master restarts with --registry_max_agent_age=1secs: the entry left is older than that.
    await master.stop();
    const again = await startMasterProcess(masterDir, ['--registry_gc_interval=300ms', '--registry_max_agent_age=1secs']);
    cleanup.push(() => again.stop());
    await waitUntil(() => registryOf(masterDir).gone.length === 0, 10_000, 'the last gone agent pruned by age');
    // The master has forgotten it: reconciliation about it says TASK_UNKNOWN, no longer TASK_GONE_BY_OPERATOR.
    const fw = await TestFramework.subscribe({ master: again.hostPort, name: 'after-gc' });
    cleanup.push(() => fw.teardown());
    await fw.client.reconcile([{ taskId: 'gc-probe', agentId: second }]);
    expect(await fw.waitForState('gc-probe', 'TASK_UNKNOWN', 10_000)).toMatchObject({ reason: 'REASON_RECONCILIATION' });
  });
});
