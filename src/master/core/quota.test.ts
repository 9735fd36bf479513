import { describe, expect, it } from 'vitest';
import { AgoraError } from '../../base/index.js';
import type { MasterCall, QuotaConfig } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { MasterHarness } from './harness.js';

const quota = (role: string, guarantees: Record<string, number> = {}, limits: Record<string, number> = {}): QuotaConfig => ({
  role,
  guarantees: Object.fromEntries(Object.entries(guarantees).map(([n, value]) => [n, { value }])),
  limits: Object.fromEntries(Object.entries(limits).map(([n, value]) => [n, { value }])),
});

const updateQuota = (configs: QuotaConfig[], force?: boolean): MasterCall => ({
  type: 'UPDATE_QUOTA',
  update_quota: { quota_configs: configs, ...(force === undefined ? {} : { force }) },
});

function errorOf(reply: unknown): string {
  expect(reply).toBeInstanceOf(AgoraError);
  return (reply as AgoraError).message;
}

describe('weights', () => {
  it('are set, read back, handed to the allocator and persisted', () => {
    const h = new MasterHarness();
    const reply = h.operator({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'eng', weight: 2 }, { role: 'ops', weight: 0.5 }] } });
    expect(reply).toEqual({ status: 200 });
    expect(h.operator({ type: 'GET_WEIGHTS' })).toEqual({
      status: 200,
      body: { type: 'GET_WEIGHTS', get_weights: { weight_infos: [{ weight: 2, role: 'eng' }, { weight: 0.5, role: 'ops' }] } },
    });
    expect(h.core.allocator.weight('eng')).toBe(2);
    expect(h.persisted).toEqual([{ type: 'UPDATE_WEIGHTS', weight_infos: [{ weight: 2, role: 'eng' }, { weight: 0.5, role: 'ops' }] }]);
  });

  it('are refused whole when one is not positive or a role is invalid', () => {
    const h = new MasterHarness();
    const call = (weight_infos: { role: string; weight: number }[]) => h.operator({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos } });
    expect(errorOf(call([{ role: 'eng', weight: 2 }, { role: 'ops', weight: 0 }]))).toBe(
      "'update_weights.weight_infos[1].weight' of role \"ops\" must be a positive number, got 0",
    );
    expect(errorOf(call([{ role: 'a//b', weight: 1 }]))).toContain('a//b');
    expect(errorOf(call([{ role: 'x', weight: 1 }, { role: 'x', weight: 2 }]))).toContain('twice');
    expect(errorOf(h.operator({ type: 'UPDATE_WEIGHTS' }))).toBe("Expecting 'update_weights' to be present");
    expect(h.core.allocator.weight('eng')).toBe(1);
    expect(h.persisted).toEqual([]);
  });

  it('come back from the registry when the master starts', () => {
    const h = new MasterHarness({}, { version: 1, weights: [{ role: 'eng', weight: 3 }], quota_configs: [quota('eng', { cpus: 1 })] });
    expect(h.core.allocator.weight('eng')).toBe(3);
    expect(h.core.allocator.quotaOf('eng').guarantees.get('cpus')).toBe(1);
  });
});

describe('quota', () => {
  it('is set, read back in configs and the deprecated infos, and persisted', () => {
    const h = new MasterHarness();
    h.addAgent('cpus:8;mem:8192');
    expect(h.operator(updateQuota([quota('eng', { cpus: 2, mem: 1024 }, { cpus: 4 })]))).toEqual({ status: 200 });
    const reply = h.operator({ type: 'GET_QUOTA' }) as unknown as { body: { get_quota: { status: { configs: QuotaConfig[]; infos: unknown[] } } } };
    expect(reply.body.get_quota.status.configs).toEqual([quota('eng', { cpus: 2, mem: 1024 }, { cpus: 4 })]);
    expect(reply.body.get_quota.status.infos).toEqual([
      { role: 'eng', guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } }] },
    ]);
    expect(h.persisted.map((op) => op.type)).toEqual(['ADMIT_AGENT', 'UPDATE_QUOTA']);
    // Empty guarantees and limits reset the role to no quota.
    h.operator(updateQuota([quota('eng')]));
    expect((h.operator({ type: 'GET_QUOTA' }) as unknown as typeof reply).body.get_quota.status.configs).toEqual([]);
  });

  it('is refused with a 400 that says why, unless forced', () => {
    const h = new MasterHarness();
    h.addAgent('cpus:8;mem:8192');
    expect(errorOf(h.operator(updateQuota([quota('eng', { cpus: 10 })])))).toBe(
      "quota guarantees would total 10 cpus, more than the 8 cpus the cluster's agents have; add agents or lower the guarantees; or set 'force' to apply it anyway",
    );
    expect(errorOf(h.operator(updateQuota([quota('eng', { cpus: 3 }, { cpus: 2 })])))).toContain('guarantee must not exceed its limit');
    expect(errorOf(h.operator(updateQuota([quota('eng/web', { cpus: 1 })])))).toContain('set it on "eng", which counts all of its sub-roles');
    expect(errorOf(h.operator(updateQuota([quota('*', { cpus: 1 })])))).toContain('role "*"');
    expect(errorOf(h.operator(updateQuota([quota('a', { cpus: 1 }), quota('a', { cpus: 2 })])))).toContain('twice');
    expect(h.persisted.map((op) => op.type)).toEqual(['ADMIT_AGENT']); // the agent's admission only
    expect(h.operator(updateQuota([quota('eng', { cpus: 10 })], true))).toEqual({ status: 200 });
  });

  it('refuses a limit below what the role consumes: its reservations and what its tasks use', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ roles: ['eng/web'], capabilities: [{ type: 'MULTI_ROLE' }] });
    h.addAgent('cpus:8;mem:8192;cpus(eng):1');
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 't1', resources: 'cpus:2;mem:64' }]);
    expect(errorOf(h.operator(updateQuota([quota('eng', {}, { cpus: 2 })])))).toContain('role "eng" consumes 3 cpus now');
    expect(h.operator(updateQuota([quota('eng', {}, { cpus: 3 })]))).toEqual({ status: 200 });
  });

  it('rescinds offers of the role and its sub-roles, which are made again under the new quota', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ roles: ['eng/web'], capabilities: [{ type: 'MULTI_ROLE' }] });
    h.addAgent('cpus:8;mem:8192');
    h.settle();
    expect(f.outstandingOffers()).toHaveLength(1);
    h.operator(updateQuota([quota('eng', {}, { cpus: 2 })]));
    h.settle();
    expect(f.eventsOf('RESCIND')).toHaveLength(1);
    expect(f.outstandingOffers().map((o) => Resources.fromWire(o.resources).scalar('cpus'))).toEqual([2]);
  });

  it('takes the deprecated SET_QUOTA (guarantee and limit alike) and REMOVE_QUOTA', () => {
    const h = new MasterHarness();
    h.addAgent('cpus:8;mem:8192');
    const guarantee = [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 2 } }];
    expect(h.operator({ type: 'SET_QUOTA', set_quota: { quota_request: { role: 'eng', guarantee } } })).toEqual({ status: 200 });
    expect(h.core.allocator.quotaOf('eng').limits.get('cpus')).toBe(2);
    expect(h.operator({ type: 'REMOVE_QUOTA', remove_quota: { role: 'eng' } })).toEqual({ status: 200 });
    expect(errorOf(h.operator({ type: 'REMOVE_QUOTA', remove_quota: { role: 'eng' } }))).toContain('has no quota');
  });
});

describe('GET_ROLES', () => {
  it('shows each role with its weight, quota, frameworks, and what its subtree uses, is offered and has reserved', () => {
    const h = new MasterHarness();
    h.operator({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'eng', weight: 2 }] } });
    const f = h.subscribe({ roles: ['eng/web'], capabilities: [{ type: 'MULTI_ROLE' }] });
    h.addAgent('cpus:4;mem:1024;cpus(eng):1');
    h.operator(updateQuota([quota('eng', { cpus: 2 })]));
    h.settle();
    f.launch(f.outstandingOffers()[0]!, [{ id: 't1', resources: 'cpus:1;mem:128' }], 0);
    h.settle();
    const reply = h.operator({ type: 'GET_ROLES' }) as unknown as { body: { get_roles: { roles: Array<Record<string, unknown>> } } };
    const roles = reply.body.get_roles.roles;
    expect(roles.map((r) => r['name'])).toEqual(['eng', 'eng/web']);
    const [eng, web] = roles;
    expect(eng).toMatchObject({ weight: 2, frameworks: [], quota: { guarantees: { cpus: { value: 2 } }, consumed: { cpus: { value: 2 }, mem: { value: 128 } } } });
    expect(web).toMatchObject({ weight: 1, frameworks: [{ value: f.id }] });
    const text = (key: string) => Resources.fromWire(web![key] as never).toString();
    expect(text('allocated')).toBe('cpus:1;mem:128');
    expect(text('offered')).toBe('cpus:3;cpus(eng):1;mem:896');
    expect(Resources.fromWire(eng!['reserved'] as never).toString()).toBe('cpus(eng):1');
    expect(h.core.rolesJson().roles[0]).toMatchObject({ name: 'eng', weight: 2, reserved: { cpus: 1 }, allocated: { cpus: 1, mem: 128 } });
  });

  it('answers 501 naming a call this version does not implement', () => {
    const h = new MasterHarness();
    const reply = h.operator({ type: 'CREATE_VOLUMES' });
    expect((reply as AgoraError).httpStatus).toBe(501);
    expect((reply as AgoraError).message).toContain('CREATE_VOLUMES');
  });
});
