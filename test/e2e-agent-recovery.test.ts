/**
 * Agent recovery end to end (facts 7.2): a real `agora master` and a separate `agora agent`,
 * in posix and in oci mode. The agent is `kill -9`ed with tasks running and restarted on its
 * work dir: a long task of a checkpointing framework is still RUNNING under the same agent id,
 * a short one that ended meanwhile is reported with its real exit status, an update the
 * framework had not acknowledged is sent again, and a framework without checkpoint has lost its
 * task (TASK_LOST, its process killed). In posix mode also: a task group's default executor is
 * destroyed and its task ends TASK_GONE (decision 0012), and a restart with smaller --resources is
 * refused with what changed and what to do.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutorInfo, TaskInfo, TaskStatus } from '../src/api/index.js';
import { parseResourceSpec } from '../src/cli/resources-spec.js';
import { sleep, waitUntil } from './support/cluster.js';
import { commandTask, TestFramework } from './support/framework.js';
import { type Daemon, startAgentProcess, startMasterProcess } from './support/processes.js';
import { scratch } from './support/scratch.js';

const RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31010]';
const SMALLER = 'cpus:1;mem:1024;disk:1024;ports:[31000-31010]';
/** Writes a fresh timestamp into its sandbox every 100 ms: it is alive as long as `beat` changes. */
const BEATING = 'while :; do date +%s%N > beat.tmp && mv beat.tmp beat; sleep 0.1; done';

function parsed(spec: string): NonNullable<ExecutorInfo['resources']> {
  const resources = parseResourceSpec(spec);
  if ('error' in resources) throw new Error(resources.error);
  return resources;
}

function ociSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['conmon', 'crun']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

const { cleanup, dir } = scratch();

/** The sandbox of a command task, from its TASK_RUNNING (facts 7.2 layout). */
function sandboxOf(workDir: string, frameworkId: string, status: TaskStatus): string {
  const containerId = status.container_status?.container_id?.value ?? '';
  return join(workDir, 'slaves', status.agent_id!.value, 'frameworks', frameworkId, 'executors', status.task_id.value, 'runs', containerId);
}

async function beats(sandbox: string): Promise<boolean> {
  const first = existsSync(join(sandbox, 'beat')) ? readFileSync(join(sandbox, 'beat'), 'utf8') : '';
  await sleep(600);
  const second = existsSync(join(sandbox, 'beat')) ? readFileSync(join(sandbox, 'beat'), 'utf8') : '';
  return second !== '' && second !== first;
}

describe.each([
  ['posix', undefined],
  ['oci', ociSkipReason()],
] as const)('agent recovery (%s)', (isolation, skip) => {
  it.skipIf(skip !== undefined)('keeps running tasks across kill -9 of the agent, reports what ended meanwhile, resends unacknowledged updates', async () => {
    const master = await startMasterProcess(dir(`recovery-master-${isolation}`), ['--hostname', '127.0.0.1']);
    cleanup.push(() => master.stop());
    const workDir = dir(`recovery-agent-${isolation}`);
    const flags = ['--isolation', isolation, '--hostname', '127.0.0.1'];
    let agent: Daemon = await startAgentProcess(master.hostPort, workDir, RESOURCES, flags);
    // Whatever happens, the tasks end: an agent that recovers them and stops gracefully kills them.
    let stopped = false;
    cleanup.push(async () => {
      if (stopped) return;
      await agent.stop('SIGKILL');
      await (await startAgentProcess(master.hostPort, workDir, RESOURCES, [...flags, '--strict', 'false'])).stop();
    });
    const port = agent.hostPort.split(':')[1]!;
    const samePort = [...flags, '--port', port];

    // A checkpointing framework that withholds the acknowledgement of one task's TASK_RUNNING.
    const keeper = await TestFramework.subscribe({
      master: master.hostPort,
      name: `recovery-${isolation}`,
      info: { checkpoint: true, failover_timeout: 300 },
      autoAck: (s) => !(s.task_id.value === 'unacked' && s.state === 'TASK_RUNNING'),
    });
    cleanup.push(() => keeper.teardown());
    const volatile = await TestFramework.subscribe({ master: master.hostPort, name: `no-checkpoint-${isolation}`, info: { capabilities: [] } });
    cleanup.push(() => volatile.teardown());

    // Beating takes some CPU: under oci a task gets no more than its cpus.
    const beating = { resources: 'cpus:0.2;mem:64' };
    const offer = await keeper.takeOffer('cpus:0.5;mem:192');
    const withAgent = (t: TaskInfo): TaskInfo => ({ ...t, agent_id: offer.agent_id });
    const commands = [commandTask('long', BEATING, beating), commandTask('short', 'until [ -e go ]; do sleep 0.1; done; exit 3'), commandTask('unacked', 'exec sleep 300')].map(withAgent);
    const operations: unknown[] = [{ type: 'LAUNCH', launch: { task_infos: commands } }];
    if (isolation === 'posix') {
      // A task group under agora's default executor, which agora does not reconnect (decision 0012).
      const group: ExecutorInfo = { type: 'DEFAULT', executor_id: { value: 'group' }, resources: parsed('cpus:0.1;mem:64;disk:32') };
      const grouped = withAgent(commandTask('grouped', 'exec sleep 300', { resources: 'cpus:0.1;mem:32' }));
      operations.push({ type: 'LAUNCH_GROUP', launch_group: { executor: group, task_group: { tasks: [grouped] } } });
    }
    await keeper.client.accept([offer.id.value], operations);
    await volatile.launch([commandTask('volatile', BEATING, beating)], await volatile.takeOffer('cpus:0.2;mem:64'));
    if (isolation === 'posix') await keeper.waitForState('grouped', 'TASK_RUNNING', 30_000);
    const long = await keeper.waitForState('long', 'TASK_RUNNING', 30_000);
    const short = await keeper.waitForState('short', 'TASK_RUNNING', 30_000);
    const unacked = await keeper.waitForState('unacked', 'TASK_RUNNING', 30_000);
    const lost = await volatile.waitForState('volatile', 'TASK_RUNNING', 30_000);
    await keeper.acksSettled();
    const agentId = long.agent_id!.value;
    const longSandbox = sandboxOf(workDir, keeper.frameworkId, long);
    const volatileSandbox = sandboxOf(workDir, volatile.frameworkId, lost);
    await waitUntil(() => beats(longSandbox), 10_000, 'the long task beating');

    // kill -9: nothing of the agent is left to stop its tasks or say goodbye.
    await agent.stop('SIGKILL');
    const disconnected = await volatile.waitForState('volatile', 'TASK_LOST', 15_000);
    expect(disconnected.reason).toBe('REASON_AGENT_DISCONNECTED');
    // The short task ends while its agent is down: its monitor (conmon, or agora's supervisor) records how.
    writeFileSync(join(sandboxOf(workDir, keeper.frameworkId, short), 'go'), '');
    const shortId = short.container_status!.container_id!.value;
    const exitFile = join(workDir, 'runtime', ...(isolation === 'oci' ? ['exits', shortId] : ['posix', shortId, 'exit']));
    await waitUntil(() => existsSync(exitFile), 10_000, 'the short task to end');
    expect(await beats(longSandbox)).toBe(true);

    agent = await startAgentProcess(master.hostPort, workDir, RESOURCES, samePort);
    const ended = await keeper.until(() => keeper.statuses.get('short')?.find((s) => s.state !== 'TASK_RUNNING' && s.state !== 'TASK_STARTING'), 30_000, 'the short task ended');
    expect(ended.state).toBe('TASK_FAILED');
    expect(ended.message).toBe('Command exited with status 3');
    expect(ended.agent_id?.value).toBe(agentId);

    // The unacknowledged TASK_RUNNING comes again, the same update (uuid) as before.
    await keeper.until(() => ((keeper.statuses.get('unacked') ?? []).filter((s) => s.uuid === unacked.uuid).length >= 2 ? true : undefined), 30_000, 'TASK_RUNNING of unacked sent again');

    // The long task is still the same process, RUNNING on the same agent.
    expect(await beats(longSandbox)).toBe(true);
    const reconciled = keeper.statuses.get('long')!.length;
    expect((await keeper.client.reconcile([{ taskId: 'long', agentId }])).status).toBe(202);
    const answer = await keeper.until(() => keeper.statuses.get('long')![reconciled], 15_000, 'reconciliation of the long task');
    expect(answer.state).toBe('TASK_RUNNING');
    expect(answer.agent_id?.value).toBe(agentId);
    expect(keeper.statuses.get('long')!.filter((s) => s.state !== 'TASK_RUNNING' && s.state !== 'TASK_STARTING')).toEqual([]);

    // The task of the framework without checkpoint was killed, not recovered.
    expect(await beats(volatileSandbox)).toBe(false);

    if (isolation !== 'posix') return; // The rest does not depend on the launcher.

    // The default executor is destroyed, and its task ends as Mesos ends those of an executor that does not re-register.
    const gone = await keeper.waitForTerminal('grouped', 30_000);
    expect(gone).toMatchObject({ state: 'TASK_GONE', reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', source: 'SOURCE_AGENT' });

    // A restart that shrinks the agent is refused, saying what changed and what to do.
    await agent.stop('SIGKILL');
    const refused = await startAgentProcess(master.hostPort, workDir, SMALLER, samePort).then(
      (d) => d.stop().then(() => 'started'),
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/--resources changed from ".*cpus:2.*" to ".*cpus:1.*" \(with --reconfiguration_policy=additive they may only grow\)/);
    expect(refused).toContain(join(workDir, 'meta', 'slaves', 'latest'));

    // With the resources it had, it recovers again; a graceful stop then ends every task.
    agent = await startAgentProcess(master.hostPort, workDir, RESOURCES, samePort);
    expect(await beats(longSandbox)).toBe(true);
    await agent.stop();
    stopped = true;
    expect(await beats(longSandbox)).toBe(false);
    expect(existsSync(join(workDir, 'meta', 'slaves', 'latest'))).toBe(false);
  }, 120_000);
});
