import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../http/index.js';
import { MasterHarness } from '../core/harness.js';
import type { MasterDescription } from '../core/index.js';
import { InMemoryRegistry } from '../registry/index.js';
import { MasterRuntime } from '../runtime.js';
import { registerOperatorApi } from './operator.js';
import { registerRoleEndpoints } from './roles.js';

const description: MasterDescription = {
  id: 'm1',
  hostname: 'master.test',
  ip: '127.0.0.1',
  port: 5050,
  version: '0.1.0',
  startTimeMs: 1_700_000_000_000,
  electedTimeMs: 1_700_000_000_000,
  flags: { work_dir: '/tmp/m' },
  buildDate: '2023-11-14',
};

const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

function aMaster() {
  const h = new MasterHarness();
  const registry = new InMemoryRegistry();
  const runtime = new MasterRuntime(h.core, pino({ level: 'silent' }), registry);
  const app = createHttpServer({ logger: pino({ level: 'silent' }) });
  registerOperatorApi(app, () => runtime, () => description);
  registerRoleEndpoints(app, () => runtime);
  apps.push(app);
  const v1 = (call: unknown) => app.inject({ method: 'POST', url: '/api/v1', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(call) });
  return { h, app, registry, v1 };
}

describe('POST /api/v1 on the master', () => {
  it('answers process facts and state views in master.Response shapes', async () => {
    const { h, v1 } = aMaster();
    h.addAgent('cpus:2;mem:256');
    expect((await v1({ type: 'GET_HEALTH' })).json()).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
    expect((await v1({ type: 'GET_VERSION' })).json().get_version.version_info.version).toBe('0.1.0');
    expect((await v1({ type: 'GET_FLAGS' })).json().get_flags.flags).toEqual([{ name: 'work_dir', value: '/tmp/m' }]);
    const state = (await v1({ type: 'GET_STATE' })).json().get_state;
    expect(state.get_agents.agents).toHaveLength(1);
    expect(state.get_agents.agents[0].total_resources.map((r: { name: string }) => r.name)).toEqual(['cpus', 'mem']);
    expect(Object.keys(state).sort()).toEqual(['get_agents', 'get_executors', 'get_frameworks', 'get_tasks']);
  });

  it('answers 501 naming a call it does not implement, and 400 naming a bad field', async () => {
    const { v1 } = aMaster();
    const unimplemented = await v1({ type: 'DRAIN_AGENT' });
    expect(unimplemented.statusCode).toBe(501);
    expect(unimplemented.body).toContain('DRAIN_AGENT');
    const bad = await v1({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'eng' }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('master.Call.update_weights.weight_infos[0].weight');
  });
});

describe('legacy role endpoints', () => {
  it('set, read and delete quota through /quota, as the deprecated QuotaRequest', async () => {
    const { h, app, registry } = aMaster();
    h.addAgent('cpus:8;mem:1024');
    const request = { role: 'eng', guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }] };
    const post = await app.inject({ method: 'POST', url: '/master/quota', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(request) });
    expect(post.statusCode).toBe(200);
    const status = (await app.inject({ method: 'GET', url: '/quota' })).json();
    expect(status.configs).toEqual([{ role: 'eng', guarantees: { cpus: { value: 2 } }, limits: { cpus: { value: 2 } } }]);
    expect(registry.snapshot().quota_configs).toHaveLength(1);
    expect((await app.inject({ method: 'DELETE', url: '/quota/eng' })).statusCode).toBe(200);
    expect(registry.snapshot().quota_configs).toEqual([]);
    const wrong = await app.inject({ method: 'PATCH', url: '/quota' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers['allow']).toBe('GET, POST');
  });

  it('refuse a /reserve without slaveId or in another encoding, saying what to send', async () => {
    const { app } = aMaster();
    const missing = await app.inject({ method: 'POST', url: '/reserve', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'resources=[]' });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain("Missing 'slaveId'");
    const json = await app.inject({ method: 'POST', url: '/reserve', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(json.statusCode).toBe(415);
    const badJson = await app.inject({ method: 'POST', url: '/unreserve', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'slaveId=a&resources=[{' });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.body).toContain("'resources' is not JSON");
  });
});
