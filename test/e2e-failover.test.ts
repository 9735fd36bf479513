/**
 * Framework failover on `agora local` (facts 1.1): a framework whose stream breaks keeps its
 * tasks if it re-SUBSCRIBEs with its id within failover_timeout; past it, the master kills its
 * tasks and removes it. Reconciliation answers per the facts' decision table (5.3).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cluster,
  isAlive,
  masterState,
  sleep,
  startCluster,
  stopCluster,
  tempDir,
  waitUntil,
} from './support/cluster.js';
import { TestFramework, commandTask } from './support/framework.js';
import type { TaskStatus } from '../src/api/index.js';
import { SchedulerClient } from '../src/cli/scheduler-client.js';

let cluster: Cluster | undefined;
let pids: string;
const open: TestFramework[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  pids = tempDir('failover-pids');
});

afterAll(async () => {
  for (const fw of open) await fw.teardown().catch(() => undefined);
  await stopCluster(cluster);
  rmSync(pids, { recursive: true, force: true });
});

async function subscribe(
  name: string,
  failoverTimeoutS: number,
  id?: string,
  autoAck?: (status: TaskStatus) => boolean,
): Promise<TestFramework> {
  const fw = await TestFramework.subscribe({
    master: cluster!.master,
    name,
    ...(autoAck === undefined ? {} : { autoAck }),
    info: { failover_timeout: failoverTimeoutS, ...(id === undefined ? {} : { id: { value: id } }) },
  });
  open.push(fw);
  return fw;
}

async function startSleeper(fw: TestFramework, taskId: string): Promise<number> {
  const pidFile = join(pids, taskId);
  await fw.launch([commandTask(taskId, `echo $$ > ${pidFile}; exec sleep 120`)]);
  await fw.waitForState(taskId, 'TASK_RUNNING');
  await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, 'the pid file');
  await fw.acksSettled();
  return Number(readFileSync(pidFile, 'utf8').trim());
}

describe('framework failover', () => {
  it('keeps the tasks of a framework that re-subscribes within failover_timeout', async () => {
    // The first subscription never acknowledges TASK_RUNNING: the agent must deliver it again.
    const first = await subscribe('failover-in-time', 30, undefined, (s) => s.state !== 'TASK_RUNNING');
    const pid = await startSleeper(first, 'survivor');
    const unacked = first.statuses.get('survivor')!.find((s) => s.state === 'TASK_RUNNING')!;
    expect(unacked.uuid).toBeDefined();
    const agentId = unacked.agent_id!.value;
    const frameworkId = first.frameworkId;

    first.close();
    await waitUntil(
      async () => (await masterState(cluster!)).frameworks.find((f) => f.id === frameworkId)?.connected === false,
      5000,
      'the master to see the framework disconnected',
    );
    // While disconnected, its calls are refused as "not subscribed".
    const refused = await first.client.send({ type: 'REVIVE' });
    expect(refused.status).toBe(403);

    const second = await subscribe('failover-in-time', 30, frameworkId);
    expect(second.frameworkId).toBe(frameworkId);
    expect(second.client.streamId).not.toBe(first.client.streamId);
    expect(isAlive(pid)).toBe(true);

    // Explicit reconciliation: the known task -> its latest state, from the master, no uuid.
    await second.client.reconcile([{ taskId: 'survivor', agentId }]);
    const reconciled = await second.waitForState('survivor', 'TASK_RUNNING', 10_000);
    expect(reconciled.reason).toBe('REASON_RECONCILIATION');
    expect(reconciled.source).toBe('SOURCE_MASTER');
    expect(reconciled.uuid).toBeUndefined();

    // Unknown task on a registered agent -> TASK_GONE (partition-aware).
    await second.client.reconcile([{ taskId: 'never-was', agentId }]);
    expect((await second.until(() => second.statuses.get('never-was')?.[0], 10_000, 'never-was')).state).toBe('TASK_GONE');

    // Implicit reconciliation covers every task the master tracks for the framework.
    const before = second.statuses.get('survivor')!.length;
    await second.client.reconcile();
    await second.until(() => (second.statuses.get('survivor')!.length > before ? true : undefined), 10_000, 'implicit reconcile');

    // The old stream id is no longer valid for the new subscription.
    const stale = await second.client.raw(JSON.stringify({ framework_id: { value: frameworkId }, type: 'REVIVE' }), {
      streamId: first.client.streamId,
    });
    expect(stale.status).toBe(400);

    const state = await masterState(cluster!);
    expect(state.frameworks.find((f) => f.id === frameworkId)?.tasks.map((t) => [t.id, t.state])).toEqual([
      ['survivor', 'TASK_RUNNING'],
    ]);

    // The unacknowledged update reaches the new subscription (agent retry, 10 s in Mesos).
    const redelivered = await second.until(
      () => second.statuses.get('survivor')!.find((s) => s.uuid === unacked.uuid),
      20_000,
      'the unacknowledged TASK_RUNNING to be delivered again',
    );
    expect(redelivered.state).toBe('TASK_RUNNING');
    await second.acksSettled();

    await second.client.kill('survivor');
    expect((await second.waitForTerminal('survivor')).state).toBe('TASK_KILLED');
    expect(isAlive(pid)).toBe(false);
    // Done: give the agent's resources back for the next test's framework.
    await second.teardown();
  });

  it('tells the old stream it was replaced when the framework subscribes again while connected', async () => {
    const first = await subscribe('failover-replace', 30);
    const error = first.client.waitFor((e) => (e.type === 'ERROR' ? e.error.message : undefined), 10_000, 'ERROR');
    const second = await subscribe('failover-replace', 30, first.frameworkId);
    expect(second.frameworkId).toBe(first.frameworkId);
    expect(await error).toMatch(/fail/i);
    await second.teardown();
  });

  it('kills the tasks and removes a framework that does not come back within failover_timeout', async () => {
    const fw = await subscribe('failover-too-late', 1);
    const pid = await startSleeper(fw, 'orphan');
    const frameworkId = fw.frameworkId;
    fw.close();

    await waitUntil(
      async () => {
        const state = await masterState(cluster!);
        return !state.frameworks.some((f) => f.id === frameworkId) &&
          state.completed_frameworks.some((f) => f.id === frameworkId);
      },
      10_000,
      'the framework to be removed after its 1 s failover_timeout',
    );
    await waitUntil(() => !isAlive(pid), 10_000, 'the orphan task process to be killed');
    const removed = (await masterState(cluster!)).completed_frameworks.find((f) => f.id === frameworkId)!;
    const orphan = removed.completed_tasks.find((t) => t.id === 'orphan');
    expect(orphan?.state).toBe('TASK_KILLED');

    // Too late: the framework id is gone for good.
    await sleep(100);
    const again = await SchedulerClient.subscribe({
      master: cluster!.master,
      frameworkInfo: { user: 'x', name: 'failover-too-late', id: { value: frameworkId }, failover_timeout: 1 },
    }).then(
      (client) => {
        client.close();
        return 'subscribed';
      },
      (err: Error) => err.message,
    );
    expect(again).toMatch(/removed|teardown|completed/i);
  });
});
