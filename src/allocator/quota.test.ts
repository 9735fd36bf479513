import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, Prng } from '../base/index.js';
import { Resources } from '../resources/index.js';
import { type Allocation, Allocator } from './allocator.js';
import { topLevelRole } from './quota.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

const live: Allocator[] = [];
function anAllocator(prng?: Prng): { allocator: Allocator; clock: ManualClock } {
  const clock = new ManualClock();
  const allocator = new Allocator({ clock, ...(prng === undefined ? {} : { prng }) });
  live.push(allocator);
  return { allocator, clock };
}
afterEach(() => {
  for (const allocator of live.splice(0)) allocator.checkInvariants();
});

function cpusOf(allocations: Allocation[], role: string): number {
  return allocations.filter((a) => topLevelRole(a.role) === role).reduce((sum, a) => sum + a.resources.scalar('cpus'), 0);
}

describe('quota guarantees', () => {
  it('are met first under contention, before DRF shares out the rest', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 10; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:4;mem:4096'));
    allocator.updateQuota('prod', { guarantees: { cpus: 20 } });
    for (const role of ['dev1', 'dev2', 'dev3']) allocator.addFramework(role, { roles: [role] });
    allocator.addFramework('prod', { roles: ['prod'] });
    const offers = allocator.allocate();
    // Without quota, DRF over four roles would give prod 10 of the 40 cpus.
    expect(cpusOf(offers, 'prod')).toBe(20);
    expect(allocator.consumedQuota('prod').get('cpus')).toBe(20);
    expect(offers).toHaveLength(10);
  });

  it('hold back headroom for a role that cannot take its guarantee yet', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 10; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:4;mem:4096'));
    allocator.updateQuota('prod', { guarantees: { cpus: 12 } });
    allocator.addFramework('dev', { roles: ['dev'] });
    const first = allocator.allocate();
    // 12 of 40 cpus stay free for prod: dev gets 28; three agents are offered their memory only.
    expect(cpusOf(first, 'dev')).toBe(28);
    expect(first.filter((a) => a.resources.scalar('cpus') === 0)).toHaveLength(3);
    allocator.addFramework('prod', { roles: ['prod'] });
    expect(cpusOf(allocator.allocate(), 'prod')).toBe(12);
  });

  it('count reservations of the role and its sub-roles as consumed', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024;cpus(prod/db):2'));
    allocator.addAgent('a2', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.updateQuota('prod', { guarantees: { cpus: 3 } });
    expect(allocator.consumedQuota('prod').get('cpus')).toBe(2);
    allocator.addFramework('dev', { roles: ['dev'] });
    // prod still needs 1 cpu of headroom, so dev is held to 7 of the 8 unreserved cpus.
    expect(cpusOf(allocator.allocate(), 'dev')).toBe(7);
  });

  it('are served to sub-roles of the role with the quota', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 4; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:4;mem:4096'));
    allocator.updateQuota('prod', { guarantees: { cpus: 8 } });
    allocator.addFramework('dev', { roles: ['dev'] });
    allocator.addFramework('db', { roles: ['prod/db'] });
    const offers = allocator.allocate();
    expect(cpusOf(offers, 'prod')).toBe(8);
    expect(offers.filter((a) => a.role === 'prod/db')).toHaveLength(2);
  });
});

describe('quota limits', () => {
  it('cut offers down to what the limit leaves, counting sub-roles', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 4; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:4;mem:4096;ports:[31000-31009]'));
    allocator.updateQuota('eng', { limits: { cpus: 6, mem: 5000 } });
    allocator.addFramework('web', { roles: ['eng/web'] });
    allocator.addFramework('ml', { roles: ['eng/ml'] });
    const offers = allocator.allocate();
    expect(cpusOf(offers, 'eng')).toBe(6);
    expect(offers.reduce((sum, a) => sum + a.resources.scalar('mem'), 0)).toBe(5000);
    // Ports are not under quota: they go along with whatever is offered.
    expect(offers.every((a) => a.resources.toString().includes('ports'))).toBe(true);
    expect(allocator.consumedQuota('eng/web').get('cpus')).toBe(6);
  });

  it('are never exceeded across 10,000 random allocation steps', () => {
    const prng = new Prng(20240601);
    const { allocator, clock } = anAllocator(prng);
    const totals = ['cpus:4;mem:4096', 'cpus:8;mem:2048;cpus(capped/a):1', 'cpus:2;mem:8192;mem(other):1024', 'cpus:16;mem:16384'];
    totals.forEach((text, i) => allocator.addAgent(`a${i}`, { hostname: 'h' }, r(text)));
    allocator.updateQuota('capped', { limits: { cpus: 9, mem: 10_000 } });
    const frameworks = [
      { id: 'fa', roles: ['capped/a'] },
      { id: 'fb', roles: ['capped/b', 'other'] },
      { id: 'fc', roles: ['capped'] },
      { id: 'fo', roles: ['other'] },
    ];
    for (const f of frameworks) allocator.addFramework(f.id, { roles: f.roles });
    const outstanding: Allocation[] = [];
    let peak = 0;
    for (let step = 0; step < 10_000; step++) {
      const dice = prng.int(10);
      if (dice < 4) {
        outstanding.push(...allocator.allocate(prng.next() < 0.5 ? undefined : [`a${prng.int(4)}`]));
      } else if (dice < 8 && outstanding.length > 0) {
        // Give back an offer, all of it or all but a task's worth, sometimes with a filter.
        const i = prng.int(outstanding.length);
        const a = outstanding[i]!;
        const task = r('cpus:1;mem:256').allocatedTo(a.role);
        const keep = prng.next() < 0.5 && a.resources.contains(task) ? task : Resources.empty();
        allocator.recoverResources(a.frameworkId, a.agentId, a.resources.subtract(keep), prng.next() < 0.2 ? 30 : 0);
        outstanding.splice(i, 1);
        if (!keep.isEmpty()) outstanding.push({ ...a, resources: keep });
      } else if (dice === 8) {
        clock.advanceMs(10_000);
      } else {
        const f = frameworks[prng.int(frameworks.length)]!;
        if (prng.next() < 0.5) allocator.suppressOffers(f.id);
        else allocator.reviveOffers(f.id);
      }
      // Reservations (1 cpu of capped/a) plus the unreserved cpus held by capped and its sub-roles.
      const held = cpusOf(outstanding, 'capped') - outstanding.filter((a) => topLevelRole(a.role) === 'capped').reduce((s, a) => s + a.resources.reservedTo('capped/a').scalar('cpus'), 0);
      const consumed = allocator.consumedQuota('capped');
      expect(consumed.get('cpus') ?? 0).toBeLessThanOrEqual(9);
      expect(consumed.get('mem') ?? 0).toBeLessThanOrEqual(10_000);
      expect(held + 1).toBe(consumed.get('cpus') ?? 0);
      peak = Math.max(peak, consumed.get('cpus') ?? 0);
    }
    // The limit was reached, not merely never approached.
    expect(peak).toBe(9);
  });
});
