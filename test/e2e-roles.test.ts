/**
 * Multi-tenancy end to end (issue 3): a static reservation reaches only its role on `agora
 * local`; with `agora master` and `agora agent` as separate processes, an operator's dynamic
 * reservation survives the agent's restart, and weights and quota survive the master's.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Offer, Resource } from '../src/api/index.js';
import { request } from '../src/http/index.js';
import { type Cluster, type MasterState, getJson, startCluster, stopCluster, tempDir, waitUntil } from './support/cluster.js';
import { TestFramework } from './support/framework.js';
import { type Daemon, startAgentProcess, startMasterProcess } from './support/processes.js';

const AGENT_RESOURCES = 'cpus:4;mem:1024;disk:1000;ports:[31000-31100]';
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

function operator(master: string, call: unknown) {
  return request(`${master}/api/v1`, JSON.stringify(call), { timeoutMs: 10_000 });
}

function form(url: string, fields: Record<string, string>) {
  return request(url, new URLSearchParams(fields).toString(), { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, timeoutMs: 10_000 });
}

const reservedCpu = (role: string, cpus: number): Resource => ({
  name: 'cpus',
  type: 'SCALAR',
  scalar: { value: cpus },
  reservations: [{ type: 'DYNAMIC', role, principal: 'ops' }],
});

describe('static reservations on agora local', () => {
  let cluster: Cluster | undefined;

  it('are offered only to their role and its sub-roles', async () => {
    cluster = await startCluster({ resources: 'cpus:2;mem:512;disk:1000;ports:[31000-31100];cpus(eng):2;mem(eng):256' });
    cleanup.push(() => stopCluster(cluster));
    const web = await TestFramework.subscribe({ master: cluster.master, name: 'web', info: { role: 'web' } });
    cleanup.push(() => web.teardown());
    const webOffer = await web.takeOffer('cpus:1');
    // Pre-refinement format (no RESERVATION_REFINEMENT): every resource says its role, all "*".
    expect(webOffer.resources.map((r) => r.role)).toEqual(webOffer.resources.map(() => '*'));
    expect(cpus(webOffer)).toBe(2);

    const ml = await TestFramework.subscribe({
      master: cluster.master,
      name: 'ml',
      info: { roles: ['eng/ml'], capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }] },
    });
    cleanup.push(() => ml.teardown());
    const mlOffer = await ml.until(() => [...ml.offers.values()].find((o) => o.resources.some((r) => r.reservations !== undefined)), 15_000, 'an offer of eng reservations');
    expect(mlOffer.allocation_info).toEqual({ role: 'eng/ml' });
    const reserved = mlOffer.resources.filter((r) => r.reservations !== undefined);
    expect(reserved.map((r) => [r.name, r.scalar?.value, r.reservations, r.allocation_info])).toEqual([
      ['cpus', 2, [{ type: 'STATIC', role: 'eng' }], { role: 'eng/ml' }],
      ['mem', 256, [{ type: 'STATIC', role: 'eng' }], { role: 'eng/ml' }],
    ]);
    // The web framework never saw them.
    expect([...web.offers.values(), webOffer].flatMap((o) => o.resources).filter((r) => r.role === 'eng')).toEqual([]);

    const roles = await getJson<{ roles: Array<{ name: string; reserved: { cpus: number }; offered: { cpus: number } }> }>(`${cluster.masterUrl}/roles`);
    expect(roles.roles.find((r) => r.name === 'eng')?.reserved.cpus).toBe(2);
    expect(roles.roles.find((r) => r.name === 'eng/ml')?.offered.cpus).toBe(2);
    const metrics = await getJson<Record<string, number>>(`${cluster.masterUrl}/metrics/snapshot`);
    // web holds the agent's whole (unreserved) disk: its dominant share is disk, 1000 of 1000.
    expect(metrics['allocator/mesos/roles/web/shares/dominant']).toBe(1);
    expect(metrics['allocator/mesos/roles/eng/ml/shares/dominant']).toBeGreaterThan(0);
  });
});

describe('agora master and agora agent as separate processes', () => {
  const masterDir = tempDir('roles-master');
  const agentDir = tempDir('roles-agent');
  cleanup.push(async () => {
    rmSync(masterDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  });
  let master: Daemon;
  let agent: Daemon;

  async function agentState(): Promise<MasterState['slaves'][number] & { reserved_resources: Record<string, Record<string, number>> }> {
    let found: unknown;
    await waitUntil(async () => {
      found = (await getJson<MasterState>(`${master.url}/master/state`)).slaves[0];
      return found !== undefined;
    }, 20_000, 'an agent registered');
    return found as never;
  }

  it('keep a dynamic reservation through a restart of the agent', async () => {
    master = await startMasterProcess(masterDir);
    cleanup.push(() => master.stop());
    agent = await startAgentProcess(master.hostPort, agentDir, AGENT_RESOURCES);
    cleanup.push(() => agent.stop());
    const { id } = await agentState();

    const reply = await operator(master.url, { type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: id }, resources: [reservedCpu('db', 1)] } });
    expect(reply.status).toBe(202);
    const legacy = await form(`${master.url}/master/reserve`, {
      slaveId: id,
      resources: JSON.stringify([{ name: 'mem', type: 'SCALAR', scalar: { value: 128 }, role: 'db', reservation: { principal: 'ops' } }]),
    });
    expect(legacy.status).toBe(202);
    const tooMuch = await operator(master.url, { type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: id }, resources: [reservedCpu('db', 64)] } });
    expect(tooMuch.status).toBe(409);
    const checkpoint = join(agentDir, 'meta', 'resources', 'resources.info');
    await waitUntil(() => existsSync(checkpoint) && readFileSync(checkpoint, 'utf8').includes('"mem"'), 10_000, 'the checkpoint with both reservations');

    expect(await agent.stop()).toEqual({ code: 0, signal: null });
    await waitUntil(async () => (await getJson<MasterState>(`${master.url}/master/state`)).slaves.length === 0, 10_000, 'the agent gone');
    agent = await startAgentProcess(master.hostPort, agentDir, AGENT_RESOURCES);
    const back = await agentState();
    expect(back.reserved_resources['db']).toMatchObject({ cpus: 1, mem: 128 });
    expect(back.resources).toMatchObject({ cpus: 4, mem: 1024 });

    // A framework of role db is offered the reservation; after an UNRESERVE it is everyone's again.
    const db = await TestFramework.subscribe({ master: master.hostPort, name: 'db', info: { role: 'db' } });
    cleanup.push(() => db.teardown());
    const offer = await db.takeOffer('cpus:1');
    expect(offer.resources.filter((r) => r.role === 'db').map((r) => [r.name, r.scalar?.value])).toEqual([['cpus', 1], ['mem', 128]]);
    await db.teardown();
    const unreserve = await form(`${master.url}/unreserve`, { slaveId: back.id, resources: JSON.stringify([reservedCpu('db', 1)]) });
    expect(unreserve.status).toBe(202);
    await waitUntil(async () => (await agentState()).reserved_resources['db']?.['cpus'] === 0, 10_000, 'the cpu unreserved');
    expect((await agentState()).reserved_resources['db']).toMatchObject({ cpus: 0, mem: 128 });
  });

  it('keep weights and quota through a restart of the master', async () => {
    const bad = await request(`${master.url}/weights`, JSON.stringify([{ role: 'eng', weight: -1 }]), { method: 'PUT', timeoutMs: 10_000 });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('must be a positive number');
    const put = await request(`${master.url}/weights`, JSON.stringify([{ role: 'eng', weight: 2 }]), { method: 'PUT', timeoutMs: 10_000 });
    expect(put.status).toBe(200);
    const tooBig = await operator(master.url, { type: 'UPDATE_QUOTA', update_quota: { quota_configs: [{ role: 'eng', guarantees: { cpus: { value: 40 } } }] } });
    expect(tooBig.status).toBe(400);
    expect(tooBig.text).toContain("more than the 4 cpus the cluster's agents have");
    const quota = await operator(master.url, {
      type: 'UPDATE_QUOTA',
      update_quota: { quota_configs: [{ role: 'eng', guarantees: { cpus: { value: 1 } }, limits: { cpus: { value: 2 } } }] },
    });
    expect(quota.status).toBe(200);
    expect((await operator(master.url, { type: 'GET_SNAPSHOT' })).status).toBe(501);

    await agent.stop();
    expect(await master.stop()).toEqual({ code: 0, signal: null });
    master = await startMasterProcess(masterDir);
    expect(await getJson(`${master.url}/weights`)).toEqual([{ weight: 2, role: 'eng' }]);
    const status = JSON.parse((await operator(master.url, { type: 'GET_QUOTA' })).text);
    expect(status.get_quota.status.configs).toEqual([{ role: 'eng', guarantees: { cpus: { value: 1 } }, limits: { cpus: { value: 2 } } }]);
    const roles = await getJson<{ roles: Array<{ name: string; weight: number; quota: unknown }> }>(`${master.url}/master/roles`);
    expect(roles.roles).toEqual([expect.objectContaining({ name: 'eng', weight: 2, quota: expect.objectContaining({ guarantee: { cpus: 1 }, limit: { cpus: 2 } }) })]);
    const metrics = await getJson<Record<string, number>>(`${master.url}/metrics/snapshot`);
    expect(metrics['allocator/mesos/quota/roles/eng/resources/cpus/guarantee']).toBe(1);
    expect(metrics['allocator/mesos/quota/roles/eng/resources/cpus/limit']).toBe(2);
  });
});

function cpus(offer: Offer): number {
  return offer.resources.filter((r) => r.name === 'cpus').reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
}
