import { describe, expect, it } from 'vitest';
import type { FrameworkInfo } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import { type FrameworkClient, MasterHarness } from './harness.js';

const MULTI_ROLE = [{ type: 'MULTI_ROLE' as const }];

function rolesOffered(f: FrameworkClient): string[] {
  return f.outstandingOffers().map((o) => o.allocation_info!.role).sort();
}

function update(f: FrameworkClient, info: Partial<FrameworkInfo>, suppressedRoles?: string[]) {
  return f.call({
    type: 'UPDATE_FRAMEWORK',
    update_framework: {
      framework_info: { user: 'root', name: 'test', id: { value: f.id }, capabilities: MULTI_ROLE, ...info },
      ...(suppressedRoles === undefined ? {} : { suppressed_roles: suppressedRoles }),
    },
  });
}

describe('master core: multi-role frameworks', () => {
  it('get one offer per agent and role, with allocation_info on the offer and on every resource', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ roles: ['web', 'ops'], capabilities: MULTI_ROLE });
    h.addAgent('cpus:2;mem:256');
    h.addAgent('cpus:2;mem:256');
    h.settle();
    expect(rolesOffered(f)).toEqual(['ops', 'web']);
    for (const offer of f.outstandingOffers()) {
      expect(offer.resources.every((r) => r.allocation_info?.role === offer.allocation_info?.role)).toBe(true);
    }
  });

  it('suppress and revive one role at a time', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ roles: ['web', 'ops'], capabilities: MULTI_ROLE }, { suppressed_roles: ['ops'] });
    h.addAgent('cpus:2;mem:256');
    h.addAgent('cpus:2;mem:256');
    h.settle();
    expect(rolesOffered(f)).toEqual(['web', 'web']);
    for (const offer of f.outstandingOffers()) f.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0 } } });
    f.call({ type: 'SUPPRESS', suppress: { roles: ['web'] } });
    f.call({ type: 'REVIVE', revive: { roles: ['ops'] } });
    h.settle();
    expect(rolesOffered(f)).toEqual(['ops', 'ops']);
  });

  it('change roles and suppressed roles with UPDATE_FRAMEWORK, rescinding offers of roles left', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ roles: ['web'], capabilities: MULTI_ROLE });
    h.addAgent('cpus:2;mem:256');
    h.settle();
    expect(rolesOffered(f)).toEqual(['web']);
    expect(update(f, { roles: ['batch', 'ops'] }, ['ops'])).toBe(200);
    expect(f.eventsOf('RESCIND')).toHaveLength(1);
    h.settle();
    expect(rolesOffered(f)).toEqual(['batch']);
    expect(h.core.state.frameworks.get(f.id)!.roles).toEqual(['batch', 'ops']);
    const refused = update(f, { roles: ['batch'] }, ['ops']);
    expect(refused).toBeInstanceOf(AgoraError);
    expect((refused as AgoraError).message).toContain(`'suppressed_roles' has "ops"`);
    const badRole = update(f, { roles: ['a//b'] });
    expect((badRole as AgoraError).message).toContain('a//b');
    expect(h.core.state.frameworks.get(f.id)!.roles).toEqual(['batch', 'ops']);
  });
});
