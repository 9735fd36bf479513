/**
 * The master's file registry end to end: `kill -9` of `agora master` and a restart on the same
 * work dir and port keeps weights and quota and the admitted agents. The agent that comes back
 * re-registers with its id and its running task; the framework re-subscribes with its id and
 * reconciliation says RUNNING; the agent that never comes back is unreachable after
 * --agent_reregister_timeout, in the registry too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from '../src/http/index.js';
import { type MasterState, getJson, isAlive, waitUntil } from './support/cluster.js';
import { TestFramework, commandTask } from './support/framework.js';
import { type Daemon, startAgentProcess, startMasterProcess } from './support/processes.js';
import { scratch } from './support/scratch.js';

const RESOURCES = 'cpus:2;mem:512;disk:500;ports:[31000-31010]';
const { cleanup, dir } = scratch();

function operator(master: string, call: unknown) {
  return request(`${master}/api/v1`, JSON.stringify(call), { timeoutMs: 10_000 });
}

interface RegistryFile {
  agents: Array<{ info: { id: { value: string }; hostname: string }; endpoint: { port: number } }>;
  unreachable: Array<{ id: { value: string } }>;
  weights: unknown[];
}

describe('a master restart with the file registry', () => {
  it('keeps weights, quota and agents; agents and frameworks come back with their ids and tasks', async () => {
    const masterDir = dir('registry-master');
    const flags = ['--hostname', '127.0.0.1', '--agent-reregister-timeout', '8secs'];
    let master: Daemon = await startMasterProcess(masterDir, flags);
    cleanup.push(() => master.stop());
    const port = master.hostPort.split(':')[1]!;
    const agents: Daemon[] = [];
    for (const name of ['stays', 'dies']) {
      const agent = await startAgentProcess(master.hostPort, dir(`registry-agent-${name}`), RESOURCES, ['--isolation', 'posix']);
      agents.push(agent);
      cleanup.push(() => agent.stop());
    }
    await waitUntil(async () => (await getJson<MasterState>(`${master.url}/master/state`)).slaves.length === 2, 15_000, 'both agents registered');
    const slaves = (await getJson<{ slaves: Array<{ id: string; port: number }> }>(`${master.url}/master/state`)).slaves;
    const agentPort = (d: Daemon) => Number(d.hostPort.split(':')[1]);
    const staysId = slaves.find((s) => s.port === agentPort(agents[0]!))!.id;
    const diesId = slaves.find((s) => s.port === agentPort(agents[1]!))!.id;

    // Weights and quota, and a task on the agent that stays.
    expect((await operator(master.url, { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'eng', weight: 3 }] } })).status).toBe(200);
    const quota = { role: 'eng', guarantees: { cpus: { value: 1 } }, limits: { cpus: { value: 2 } } };
    expect((await operator(master.url, { type: 'UPDATE_QUOTA', update_quota: { quota_configs: [quota] } })).status).toBe(200);
    const info = { checkpoint: true, failover_timeout: 300, capabilities: [{ type: 'PARTITION_AWARE' as const }] };
    const first = await TestFramework.subscribe({ master: master.hostPort, name: 'registry', info });
    cleanup.push(() => first.teardown());
    const offer = await first.until(() => [...first.offers.values()].find((o) => o.agent_id.value === staysId), 15_000, 'an offer from the agent that stays');
    const pidFile = join(dir('registry-pids'), 'pid');
    await first.launch([commandTask('keeper', `echo $$ > ${pidFile}; exec sleep 300`)], offer);
    await first.waitForState('keeper', 'TASK_RUNNING');
    await first.acksSettled();
    await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, 'the task pid');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());

    const registryFile = join(masterDir, 'registry.json');
    const stored = JSON.parse(readFileSync(registryFile, 'utf8')) as RegistryFile;
    expect(stored.agents.map((a) => a.info.id.value).sort()).toEqual([staysId, diesId].sort());

    // The master dies, and so does one agent; the master comes back on the same port and work dir.
    await master.stop('SIGKILL');
    await agents[1]!.stop('SIGKILL');
    master = await startMasterProcess(masterDir, [...flags, '--port', port]);
    expect(master.hostPort).toBe(`127.0.0.1:${port}`);
    // Both are "recovered" until they re-register (or time runs out).
    const recovered = await getJson<{ recovered_slaves: Array<{ id: string }> }>(`${master.url}/master/slaves`);
    expect(recovered.recovered_slaves.map((s) => s.id)).toContain(diesId);
    expect(await getJson(`${master.url}/weights`)).toEqual([{ weight: 3, role: 'eng' }]);
    const quotaStatus = JSON.parse((await operator(master.url, { type: 'GET_QUOTA' })).text);
    expect(quotaStatus.get_quota.status.configs).toEqual([quota]);

    // The agent that stays re-registers with its id and its task.
    await waitUntil(async () => (await getJson<MasterState>(`${master.url}/master/state`)).slaves.some((s) => s.id === staysId), 15_000, 'the agent back');

    // The framework re-subscribes with its id; reconciliation gives each task its true state.
    await first.client.disconnected;
    const second = await TestFramework.subscribe({ master: master.hostPort, name: 'registry', info: { ...info, id: { value: first.frameworkId } } });
    cleanup.push(() => second.teardown());
    expect(second.frameworkId).toBe(first.frameworkId);
    await second.client.reconcile([{ taskId: 'keeper', agentId: staysId }]);
    expect(await second.waitForState('keeper', 'TASK_RUNNING', 10_000)).toMatchObject({ reason: 'REASON_RECONCILIATION' });
    expect(isAlive(pid)).toBe(true);

    // The agent that died is unreachable once --agent_reregister_timeout is over, and the registry says so.
    await waitUntil(
      () => (JSON.parse(readFileSync(registryFile, 'utf8')) as RegistryFile).unreachable.some((u) => u.id.value === diesId),
      15_000,
      'the dead agent marked unreachable in the registry',
    );
    await second.client.reconcile([{ taskId: 'never-there', agentId: diesId }]);
    expect(await second.waitForState('never-there', 'TASK_UNREACHABLE', 10_000)).toMatchObject({ unreachable_time: expect.anything() });
    const after = JSON.parse(readFileSync(registryFile, 'utf8')) as RegistryFile;
    expect(after.agents.map((a) => a.info.id.value)).toEqual([staysId]);
  });
});
