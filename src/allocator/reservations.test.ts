import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, Prng } from '../base/index.js';
import { Resources, isAncestorRole } from '../resources/index.js';
import { type Allocation, Allocator } from './allocator.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

/** `text` dynamically reserved to `role` (what a RESERVE produces). */
function reserved(text: string, role: string, principal?: string): Resources {
  return Resources.fromWire(
    r(text)
      .toWire()
      .map((res) => ({ ...res, reservations: [{ type: 'DYNAMIC' as const, role, ...(principal === undefined ? {} : { principal }) }] })),
  );
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

describe('operator reservations (updateAvailable)', () => {
  it('turn unallocated resources into a reservation offered only to its role', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    expect(allocator.updateAvailable('a1', r('cpus:2;mem:512'), reserved('cpus:2;mem:512', 'eng'))).toBe(true);
    expect(allocator.total('a1').reservedTo('eng').toString()).toBe('cpus(eng):2;mem(eng):512');
    allocator.addFramework('web', { roles: ['web'] });
    expect(allocator.allocate().map((a) => a.resources.unallocated().toString())).toEqual(['cpus:2;mem:512']);
    allocator.addFramework('ml', { roles: ['eng/ml'] });
    expect(allocator.allocate().map((a) => `${a.frameworkId} ${a.resources.scalar('cpus')}`)).toEqual(['ml 2']);
  });

  it('refuse, changing nothing, when the resources are offered or in use', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('web', { roles: ['web'] });
    const [offer] = allocator.allocate();
    expect(allocator.updateAvailable('a1', r('cpus:1'), reserved('cpus:1', 'eng'))).toBe(false);
    expect(allocator.total('a1').hasReservations()).toBe(false);
    allocator.recoverResources('web', 'a1', offer!.resources);
    expect(allocator.updateAvailable('a1', r('cpus:1'), reserved('cpus:1', 'eng'))).toBe(true);
    // Unreserving gives the resources back to everyone.
    expect(allocator.updateAvailable('a1', reserved('cpus:1', 'eng'), r('cpus:1'))).toBe(true);
    expect(allocator.total('a1').equals(r('cpus:4;mem:1024'))).toBe(true);
  });

  it('charge reservations to quota as they are made and unmade', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.updateQuota('eng', { guarantees: { cpus: 1 } });
    allocator.updateAvailable('a1', r('cpus:2'), reserved('cpus:2', 'eng/ml'));
    expect(allocator.consumedQuota('eng').get('cpus')).toBe(2);
    allocator.updateAvailable('a1', reserved('cpus:2', 'eng/ml'), r('cpus:2'));
    expect(allocator.consumedQuota('eng').size).toBe(0);
  });
});

describe('framework reservations (updateAllocation)', () => {
  it('convert offered resources in place and change the agent total', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('db', { roles: ['db'] });
    const [offer] = allocator.allocate();
    const from = r('cpus:1;mem:256').allocatedTo('db');
    const to = reserved('cpus:1;mem:256', 'db', 'ops').allocatedTo('db');
    allocator.updateAllocation('db', 'a1', from, to);
    expect(allocator.agentAllocated('a1').get('db')!.contains(to)).toBe(true);
    allocator.recoverResources('db', 'a1', offer!.resources.subtract(from).add(to));
    expect(allocator.total('a1').reservedTo('db').toString()).toBe('cpus(db):1;mem(db):256');
    // Another role now gets only what is left unreserved.
    allocator.addFramework('web', { roles: ['web'] });
    allocator.suppressOffers('db');
    expect(allocator.allocate().map((a) => a.resources.unallocated().toString())).toEqual(['cpus:3;mem:768']);
  });
});

describe('reserved resources', () => {
  it('never reach a role that is not theirs or below theirs, over 3,000 random steps', () => {
    const prng = new Prng(77);
    const { allocator } = anAllocator(prng);
    const totals = ['cpus:2;mem:512;cpus(eng):2;mem(eng/ml):512', 'cpus:1;mem:256;disk(ops):100;cpus(web):1', 'cpus:4;mem:4096'];
    totals.forEach((text, i) => allocator.addAgent(`a${i}`, { hostname: 'h' }, r(text)));
    const roles = ['eng', 'eng/ml', 'eng/web', 'web', 'ops', 'batch'];
    roles.forEach((role, i) => allocator.addFramework(`f${i}`, { roles: [role, ...(i === 5 ? ['eng/ml'] : [])] }));
    const outstanding: Allocation[] = [];
    let reservedOffers = 0;
    for (let step = 0; step < 3000; step++) {
      const dice = prng.int(6);
      if (dice < 3) {
        for (const a of allocator.allocate()) {
          for (const res of a.resources.toWire()) {
            const owner = res.reservations?.at(-1)?.role;
            if (owner === undefined) continue;
            reservedOffers++;
            expect(a.role === owner || isAncestorRole(owner, a.role)).toBe(true);
          }
          outstanding.push(a);
        }
      } else if (dice < 5 && outstanding.length > 0) {
        const a = outstanding.splice(prng.int(outstanding.length), 1)[0]!;
        allocator.recoverResources(a.frameworkId, a.agentId, a.resources, prng.next() < 0.3 ? 5 : 0);
      } else {
        // An operator reserves a free cpu of a random agent for a random role, or unreserves one.
        const agent = `a${prng.int(3)}`;
        const role = roles[prng.int(roles.length)]!;
        if (!allocator.updateAvailable(agent, reserved('cpus:1', role), r('cpus:1'))) {
          allocator.updateAvailable(agent, r('cpus:1'), reserved('cpus:1', role));
        }
      }
    }
    expect(reservedOffers).toBeGreaterThan(300);
  });
});
