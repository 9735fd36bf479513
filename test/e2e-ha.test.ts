/**
 * HA masters end to end: a real three-member etcd cluster on loopback, three `agora master
 * --registry etcd://...` processes, an agent and a framework that find the leader through etcd.
 * Standbys redirect to the leader; `kill -9` of the leader gives a new one within seconds; the
 * agent and the framework re-attach with their ids, and the task keeps running and is reconciled
 * RUNNING by the new leader.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../src/http/index.js';
import { type MasterState, getJson, isAlive, tempDir, waitUntil } from './support/cluster.js';
import { type EtcdCluster, etcdUnavailable, startEtcdCluster } from './support/etcd.js';
import { TestFramework, commandTask } from './support/framework.js';
import { type Daemon, startAgentProcess, startMasterProcess } from './support/processes.js';

const unavailable = await etcdUnavailable();
if (unavailable !== undefined) console.log(`skipping the HA tests: ${unavailable}`);

let etcd: EtcdCluster | undefined;
const masters: Daemon[] = [];
let agent: Daemon | undefined;
const frameworks: TestFramework[] = [];
const dirs: string[] = [];

function dir(name: string): string {
  const d = tempDir(name);
  dirs.push(d);
  return d;
}

/** Where a master says the leader is: the Location of its /master/redirect, or its error. */
async function redirectOf(master: Daemon): Promise<string> {
  try {
    const response = await request(`${master.url}/master/redirect`, undefined, { timeoutMs: 2_000 });
    return response.status === 307 ? String(response.headers.location) : `${response.status} ${response.text}`;
  } catch (err) {
    return String((err as Error).message);
  }
}

/** The master every live master points to, once they agree. */
async function agreedLeader(live: Daemon[], timeoutMs: number): Promise<Daemon> {
  let leader: Daemon | undefined;
  await waitUntil(
    async () => {
      const locations = await Promise.all(live.map(redirectOf));
      const agreed = locations.every((l) => l === locations[0]) ? locations[0] : undefined;
      leader = live.find((m) => agreed === `//${m.hostPort}`);
      return leader !== undefined;
    },
    timeoutMs,
    'the masters to agree on a leader',
  );
  return leader!;
}

beforeAll(async () => {
  if (unavailable !== undefined) return;
  etcd = await startEtcdCluster(3);
  for (let i = 0; i < 3; i++) {
    masters.push(await startMasterProcess(dir(`ha-master-${i}`), ['--registry', etcd.url, '--hostname', '127.0.0.1']));
  }
});

afterAll(async () => {
  for (const fw of frameworks) await fw.teardown().catch(() => undefined);
  await agent?.stop().catch(() => undefined);
  for (const master of masters) await master.stop().catch(() => undefined);
  await etcd?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(unavailable !== undefined)('HA masters on etcd', () => {
  it('elect one leader; standbys redirect every API to it with 307, keeping the path', async () => {
    const leader = await agreedLeader(masters, 15_000);
    const standbys = masters.filter((m) => m !== leader);
    expect(standbys).toHaveLength(2);
    for (const standby of standbys) {
      const scheduler = await request(`${standby.url}/api/v1/scheduler`, JSON.stringify({ type: 'SUBSCRIBE' }), { timeoutMs: 5_000 });
      expect(scheduler.status).toBe(307);
      expect(scheduler.headers.location).toBe(`//${leader.hostPort}/api/v1/scheduler`);
      const state = await request(`${standby.url}/master/state?jsonp=x`, undefined, { timeoutMs: 5_000 });
      expect([state.status, state.headers.location]).toEqual([307, `//${leader.hostPort}/master/state?jsonp=x`]);
      const operator = await request(`${standby.url}/api/v1`, JSON.stringify({ type: 'GET_HEALTH' }), { timeoutMs: 5_000 });
      expect([operator.status, operator.headers.location]).toEqual([307, `//${leader.hostPort}/api/v1`]);
      // Health is every master's own.
      expect((await request(`${standby.url}/health`, undefined)).status).toBe(200);
    }
    expect((await request(`${leader.url}/api/v1`, JSON.stringify({ type: 'GET_HEALTH' }))).status).toBe(200);
  });

  it('hands over to a standby within seconds of a kill -9 of the leader; the agent and the framework re-attach and the task runs on', async () => {
    const leader = await agreedLeader(masters, 15_000);
    agent = await startAgentProcess(etcd!.url, dir('ha-agent'), 'cpus:4;mem:1024;disk:1000;ports:[31000-31100]', ['--isolation', 'posix']);
    await waitUntil(async () => (await getJson<MasterState>(`${leader.url}/master/state`)).slaves.length === 1, 15_000, 'the agent to register with the leader');
    const agentId = (await getJson<MasterState>(`${leader.url}/master/state`)).slaves[0]!.id;

    const info = { checkpoint: true, failover_timeout: 300 };
    const first = await TestFramework.subscribe({ master: etcd!.url, name: 'ha', info });
    frameworks.push(first);
    const pidFile = join(dir('ha-pids'), 'pid');
    await first.launch([commandTask('survivor', `echo $$ > ${pidFile}; exec sleep 300`)]);
    await first.waitForState('survivor', 'TASK_RUNNING');
    await first.acksSettled();
    await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, 'the task pid');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());

    // kill -9: no resignation, the lease has to expire.
    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    masters.splice(masters.indexOf(leader), 1);
    const next = await agreedLeader(masters, 10_000);
    const electedMs = Date.now() - killedAt;
    expect(electedMs).toBeLessThan(8_000);

    // The agent follows etcd to the new leader, with its id and its task.
    await waitUntil(
      async () => (await getJson<MasterState>(`${next.url}/master/state`)).slaves.some((s) => s.id === agentId),
      15_000,
      'the agent to re-register with the new leader',
    );
    // The framework re-subscribes with its id, and reconciliation says the task runs.
    await first.client.disconnected;
    const second = await TestFramework.subscribe({ master: etcd!.url, name: 'ha', info: { ...info, id: { value: first.frameworkId } } });
    frameworks.push(second);
    expect(second.frameworkId).toBe(first.frameworkId);
    await second.client.reconcile([{ taskId: 'survivor', agentId }]);
    const reconciled = await second.waitForState('survivor', 'TASK_RUNNING', 10_000);
    expect(reconciled).toMatchObject({ reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER' });
    expect(isAlive(pid)).toBe(true);
    const state = await getJson<MasterState>(`${next.url}/master/state`);
    expect(state.frameworks.find((f) => f.id === first.frameworkId)?.tasks.map((t) => [t.id, t.state])).toEqual([['survivor', 'TASK_RUNNING']]);
    console.log(`leader kill -9 -> standbys agree on a new leader in ${electedMs} ms`);
  });
});
