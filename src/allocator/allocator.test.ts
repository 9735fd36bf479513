import { afterEach, describe, expect, it } from 'vitest';
import { BugIndicatingError, ManualClock, Prng } from '../base/index.js';
import { Resources } from '../resources/index.js';
import { type Allocation, Allocator, type AllocatorOptions } from './allocator.js';
import { MAX_REFUSE_SECONDS } from './filters.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

const live: Allocator[] = [];

/** An allocator on a fake clock; every test ends by checking the bookkeeping adds up. */
function anAllocator(options: Partial<AllocatorOptions> = {}): { allocator: Allocator; clock: ManualClock } {
  const clock = new ManualClock();
  const allocator = new Allocator({ clock, ...options });
  live.push(allocator);
  return { allocator, clock };
}

afterEach(() => {
  for (const allocator of live.splice(0)) allocator.checkInvariants();
});

/** "f1@a1(web): cpus:4;mem:1024" lines, sorted, so a test reads what was offered to whom. */
function described(allocations: Allocation[]): string[] {
  return allocations.map((a) => `${a.frameworkId}@${a.agentId}(${a.role}): ${a.resources.unallocated()}`).sort();
}

function declineAll(allocator: Allocator, allocations: Allocation[], refuseSeconds?: number): void {
  for (const a of allocations) allocator.recoverResources(a.frameworkId, a.agentId, a.resources, refuseSeconds);
}

describe('offers', () => {
  it('offers all of an agent to one framework, carrying its role', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h1' }, r('cpus:4;mem:1024;ports:[31000-32000]'));
    allocator.addFramework('f1', { roles: ['web'] });
    const [offer, ...rest] = allocator.allocate();
    expect(rest).toEqual([]);
    expect(offer).toMatchObject({ frameworkId: 'f1', agentId: 'a1', role: 'web' });
    expect(offer!.resources.equals(r('cpus:4;mem:1024;ports:[31000-32000]').allocatedTo('web'))).toBe(true);
    expect(allocator.available('a1').isEmpty()).toBe(true);
    // Allocated stays allocated until recovered.
    expect(allocator.allocate()).toEqual([]);
  });

  it('re-offers recovered resources', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h1' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    const [offer] = allocator.allocate();
    // The framework launches a task on 1 cpu and 256 MB and hands back the rest.
    allocator.recoverResources('f1', 'a1', offer!.resources.subtract(r('cpus:1;mem:256').allocatedTo('web')));
    expect(allocator.hasPendingWork()).toBe(true);
    expect(described(allocator.allocate())).toEqual(['f1@a1(web): cpus:3;mem:768']);
    // The task ends: its resources come back (without allocation_info: the framework has one role).
    allocator.recoverResources('f1', 'a1', r('cpus:1;mem:256'));
    expect(described(allocator.allocate())).toEqual(['f1@a1(web): cpus:1;mem:256']);
    expect(allocator.agentAllocated('a1').get('f1')?.unallocated().equals(r('cpus:4;mem:1024'))).toBe(true);
  });

  it('offers reserved resources only to their role and its descendants', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h1' }, r('cpus:2;mem:512;cpus(eng):4;mem(eng):1024'));
    allocator.addFramework('web1', { roles: ['web'] });
    expect(described(allocator.allocate())).toEqual(['web1@a1(web): cpus:2;mem:512']);
    allocator.addFramework('ml1', { roles: ['eng/ml'] });
    expect(described(allocator.allocate())).toEqual(['ml1@a1(eng/ml): cpus(eng):4;mem(eng):1024']);
  });

  it('gives a role its reservations together with the unreserved part', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h1' }, r('cpus:2;mem:512;cpus(ops):1;mem(ops):64'));
    allocator.addFramework('web1', { roles: ['web'] });
    allocator.addFramework('ops1', { roles: ['ops'] });
    // Both roles start at share 0 and "ops" < "web", so ops goes first and takes all it may use.
    expect(described(allocator.allocate())).toEqual(['ops1@a1(ops): cpus:2;cpus(ops):1;mem:512;mem(ops):64']);
  });

  it('splits one agent between roles when a reservation is left after the first offer', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h1' }, r('cpus:2;mem:512;cpus(ops):1;mem(ops):64'));
    allocator.addFramework('dev1', { roles: ['dev'] });
    allocator.addFramework('ops1', { roles: ['ops'] });
    // "dev" < "ops": dev takes the unreserved part, then ops gets its reservation.
    expect(described(allocator.allocate())).toEqual(['dev1@a1(dev): cpus:2;mem:512', 'ops1@a1(ops): cpus(ops):1;mem(ops):64']);
    expect(allocator.available('a1').isEmpty()).toBe(true);
  });

  it('does not offer less than the allocatable minimum', () => {
    const { allocator } = anAllocator();
    allocator.addFramework('f1', { roles: ['web'] });
    allocator.addAgent('tiny', { hostname: 'h' }, r('cpus:0.009;mem:31;disk:100'));
    allocator.addAgent('cpu-only', { hostname: 'h' }, r('cpus:0.01'));
    allocator.addAgent('mem-only', { hostname: 'h' }, r('mem:32'));
    expect(described(allocator.allocate())).toEqual(['f1@cpu-only(web): cpus:0.01', 'f1@mem-only(web): mem:32']);
  });

  it('takes the allocatable minimum from options', () => {
    const { allocator } = anAllocator({ minAllocatable: [{ cpus: 1, mem: 128 }] });
    allocator.addFramework('f1', { roles: ['web'] });
    allocator.addAgent('small', { hostname: 'h' }, r('cpus:4;mem:64'));
    allocator.addAgent('enough', { hostname: 'h' }, r('cpus:1;mem:128'));
    expect(described(allocator.allocate())).toEqual(['f1@enough(web): cpus:1;mem:128']);
  });

  it('considers only the given agents in a prompt pass', () => {
    const { allocator } = anAllocator();
    allocator.addFramework('f1', { roles: ['web'] });
    for (const id of ['a1', 'a2', 'a3']) allocator.addAgent(id, { hostname: id }, r('cpus:1;mem:128'));
    expect(described(allocator.allocate(['a2', 'unknown']))).toEqual(['f1@a2(web): cpus:1;mem:128']);
    expect(allocator.available('a1').equals(r('cpus:1;mem:128'))).toBe(true);
    // The agents not yet considered are still pending work.
    expect(allocator.hasPendingWork()).toBe(true);
    expect(described(allocator.allocate())).toEqual(['f1@a1(web): cpus:1;mem:128', 'f1@a3(web): cpus:1;mem:128']);
    expect(allocator.hasPendingWork()).toBe(false);
  });

  it('visits agents in a seeded shuffled order, the same for the same seed', () => {
    const order = (seed: number): string[] => {
      const { allocator } = anAllocator({ prng: new Prng(seed) });
      for (let i = 0; i < 8; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:1;mem:128'));
      allocator.addFramework('f1', { roles: ['web'] });
      allocator.addFramework('f2', { roles: ['web'] });
      // Frameworks alternate, so who gets which agent shows the order agents were visited in.
      return allocator.allocate().map((a) => `${a.agentId}:${a.frameworkId}`);
    };
    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
    const { allocator } = anAllocator();
    for (let i = 0; i < 4; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addFramework('f1', { roles: ['web'] });
    expect(allocator.allocate().map((a) => a.agentId)).toEqual(['a0', 'a1', 'a2', 'a3']);
  });
});

describe('DRF', () => {
  /**
   * The example of the DRF paper (Ghodsi et al., NSDI 2011): 9 cpus and 18 GB; A runs tasks of
   * <1 cpu, 4 GB>, B of <3 cpus, 1 GB>. Each offer goes to the lower dominant share; the framework
   * launches one task if it fits and declines the rest. DRF ends with A at 3 tasks (3 cpus, 12 GB:
   * share 12/18 = 2/3) and B at 2 tasks (6 cpus, 2 GB: share 6/9 = 2/3).
   */
  it('converges two task shapes to equal dominant shares', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h1' }, r('cpus:9;mem:18432'));
    allocator.addFramework('A', { roles: ['analytics'] });
    allocator.addFramework('B', { roles: ['analytics'] });
    const shape = { A: r('cpus:1;mem:4096'), B: r('cpus:3;mem:1024') };
    const tasks = { A: 0, B: 0 };
    const order: string[] = [];
    for (let round = 0; round < 20; round++) {
      let launched = false;
      for (const offer of allocator.allocate()) {
        const id = offer.frameworkId as 'A' | 'B';
        const task = shape[id].allocatedTo(offer.role);
        if (offer.resources.contains(task)) {
          tasks[id]++;
          order.push(id);
          launched = true;
          allocator.recoverResources(id, offer.agentId, offer.resources.subtract(task));
        } else {
          allocator.recoverResources(id, offer.agentId, offer.resources);
        }
      }
      if (!launched) break;
    }
    expect(order).toEqual(['A', 'B', 'A', 'B', 'A']);
    expect(tasks).toEqual({ A: 3, B: 2 });
    expect(allocator.frameworkDominantShare('A')).toBeCloseTo(12288 / 18432, 10); // 0.667 (mem)
    expect(allocator.frameworkDominantShare('B')).toBeCloseTo(6 / 9, 10); // 0.667 (cpus)
    expect(allocator.frameworkDominantShare('A', 'analytics')).toBeCloseTo(0.667, 3);
    expect(allocator.roleDominantShare('analytics')).toBeCloseTo(9 / 9, 10); // all cpus are in use
  });

  it('alternates whole agents between equal frameworks', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 10; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:4;mem:4096'));
    allocator.addFramework('f1', { roles: ['web'] });
    allocator.addFramework('f2', { roles: ['web'] });
    const offers = allocator.allocate();
    expect(offers.filter((o) => o.frameworkId === 'f1')).toHaveLength(5);
    expect(offers.filter((o) => o.frameworkId === 'f2')).toHaveLength(5);
    expect(allocator.frameworkDominantShare('f1')).toBeCloseTo(0.5, 10); // 20 of 40 cpus
  });

  it('sorts roles by their total share before frameworks within them', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:8;mem:8192'));
    allocator.addFramework('big', { roles: ['batch'] });
    allocator.allocate(); // batch holds all of a1: share 1
    for (let i = 2; i <= 4; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:8;mem:8192'));
    allocator.addFramework('s1', { roles: ['service'] });
    allocator.addFramework('s2', { roles: ['service'] });
    // Over the 32-cpu cluster: batch 8/32 = 0.25, service 0, so service (s1) takes a2 and is at
    // 0.25 too; the tie goes to "batch" < "service", so batch takes a3 (0.5); service (s2) gets a4.
    expect(described(allocator.allocate())).toEqual([
      'big@a3(batch): cpus:8;mem:8192',
      's1@a2(service): cpus:8;mem:8192',
      's2@a4(service): cpus:8;mem:8192',
    ]);
    expect(allocator.roleDominantShare('batch')).toBe(0.5);
    expect(allocator.roleDominantShare('service')).toBe(0.5);
  });
});

describe('refuse filters', () => {
  it('hold back declined resources until refuseSeconds pass, and not before', () => {
    const { allocator, clock } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    declineAll(allocator, allocator.allocate(), 5);
    expect(allocator.activeFilterCount('web')).toBe(1);
    expect(allocator.nextFilterExpiryMs()).toBe(5000);
    clock.advanceMs(4999);
    expect(allocator.allocate()).toEqual([]);
    expect(allocator.hasPendingWork()).toBe(false);
    clock.advanceMs(1);
    expect(allocator.hasPendingWork()).toBe(true);
    expect(described(allocator.allocate())).toEqual(['f1@a1(web): cpus:4;mem:1024']);
    expect(allocator.activeFilterCount('web')).toBe(0);
  });

  it('do not hold back more than was declined', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    const [offer] = allocator.allocate();
    // f1 runs a task on half and declines the other half for an hour.
    const task = r('cpus:2;mem:512').allocatedTo('web');
    allocator.recoverResources('f1', 'a1', offer!.resources.subtract(task), 3600);
    expect(allocator.allocate()).toEqual([]);
    // The task ends: now more is free than f1 refused, so it is offered again.
    allocator.recoverResources('f1', 'a1', task);
    expect(described(allocator.allocate())).toEqual(['f1@a1(web): cpus:4;mem:1024']);
  });

  it('cap refuseSeconds at 365 days', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    declineAll(allocator, allocator.allocate(), 10 * MAX_REFUSE_SECONDS);
    expect(allocator.nextFilterExpiryMs()).toBe(MAX_REFUSE_SECONDS * 1000);
  });

  it('install nothing for refuseSeconds 0', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    declineAll(allocator, allocator.allocate(), 0);
    expect(allocator.activeFilterCount()).toBe(0);
    expect(allocator.allocate()).toHaveLength(1);
  });

  it('are cleared by revive, for the revived roles only', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addAgent('a2', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web', 'ops'] });
    // Roles tie at 0: a1 goes to "ops", then a2 to "web" (ops is at 0.5 by then).
    const offers = allocator.allocate();
    expect(offers.map((a) => `${a.agentId}:${a.role}`)).toEqual(['a1:ops', 'a2:web']);
    declineAll(allocator, offers, 3600);
    expect(allocator.activeFilterCount()).toBe(2);
    allocator.reviveOffers('f1', ['web']);
    expect(allocator.activeFilterCount('web')).toBe(0);
    expect(allocator.activeFilterCount('ops')).toBe(1);
    allocator.reviveOffers('f1');
    expect(allocator.activeFilterCount()).toBe(0);
    expect(allocator.allocate()).toHaveLength(2);
  });

  it('do not let a framework with a long filter starve another', () => {
    const { allocator, clock } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('a-first', { roles: ['web'] });
    allocator.addFramework('b-second', { roles: ['web'] });
    const [offer] = allocator.allocate();
    expect(offer?.frameworkId).toBe('a-first'); // equal shares: ties go by id
    declineAll(allocator, [offer!], 86_400);
    clock.advanceMs(1000);
    expect(described(allocator.allocate())).toEqual(['b-second@a1(web): cpus:4;mem:1024']);
  });

  it('are dropped when the framework deactivates (a failed-over scheduler starts afresh)', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    declineAll(allocator, allocator.allocate(), 3600);
    allocator.deactivateFramework('f1');
    allocator.activateFramework('f1');
    expect(allocator.allocate()).toHaveLength(1);
  });
});

describe('suppress, revive, activation', () => {
  it('suppresses and revives per role', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addAgent('a2', { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addFramework('f1', { roles: ['web', 'ops'], suppressedRoles: ['ops'] });
    const offers = allocator.allocate();
    expect(offers.map((a) => a.role)).toEqual(['web', 'web']);
    declineAll(allocator, offers);
    allocator.suppressOffers('f1', ['web']);
    expect(allocator.allocate()).toEqual([]);
    allocator.reviveOffers('f1', ['ops']);
    expect(allocator.allocate().map((a) => a.role)).toEqual(['ops', 'ops']);
  });

  it('suppresses all roles when none are named', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addFramework('f1', { roles: ['web', 'ops'] });
    allocator.suppressOffers('f1');
    expect(allocator.allocate()).toEqual([]);
    allocator.reviveOffers('f1', []);
    expect(allocator.allocate()).toHaveLength(1);
  });

  it('offers nothing to an inactive framework', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addFramework('f1', { roles: ['web'], active: false });
    expect(allocator.allocate()).toEqual([]);
    allocator.activateFramework('f1');
    expect(allocator.hasPendingWork()).toBe(true);
    expect(allocator.allocate()).toHaveLength(1);
  });

  it('offers nothing from an inactive agent', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addFramework('f1', { roles: ['web'] });
    allocator.deactivateAgent('a1');
    expect(allocator.allocate()).toEqual([]);
    allocator.activateAgent('a1');
    expect(allocator.allocate(['a1'])).toHaveLength(1);
  });

  it('follows role changes from updateFramework', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addAgent('a2', { hostname: 'h' }, r('cpus:1;mem:128'));
    allocator.addFramework('f1', { roles: ['web'] });
    const [first] = allocator.allocate(['a1']);
    allocator.updateFramework('f1', { roles: ['ops'] });
    // The web allocation still counts until it is recovered; new offers are for ops.
    expect(allocator.roleDominantShare('web')).toBe(0.5);
    expect(described(allocator.allocate())).toEqual(['f1@a2(ops): cpus:1;mem:128']);
    allocator.recoverResources('f1', 'a1', first!.resources);
    expect(allocator.roleDominantShare('web')).toBe(0);
    expect(described(allocator.allocate())).toEqual(['f1@a1(ops): cpus:1;mem:128']);
  });
});

describe('framework and agent lifecycle', () => {
  it('counts what re-registering agents report as used', () => {
    const { allocator } = anAllocator();
    allocator.addFramework('f1', { roles: ['web'], active: false });
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'), new Map([['f1', r('cpus:1;mem:256').allocatedTo('web')]]));
    expect(allocator.available('a1').equals(r('cpus:3;mem:768'))).toBe(true);
    expect(allocator.frameworkDominantShare('f1')).toBe(0.25);
  });

  it('picks up a framework’s usage from agents added before it', () => {
    const { allocator } = anAllocator();
    const used = r('cpus:2;mem:256').allocatedTo('web');
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'), new Map([['f1', used]]));
    allocator.addFramework('f1', { roles: ['web'] }, new Map([['a1', used]]));
    expect(allocator.frameworkDominantShare('f1')).toBe(0.5);
    expect(described(allocator.allocate())).toEqual(['f1@a1(web): cpus:2;mem:768']);
  });

  it('forgets a removed framework’s share; agents free its resources when they are recovered', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    const [offer] = allocator.allocate();
    allocator.removeFramework('f1');
    expect(allocator.roleDominantShare('web')).toBe(0);
    expect(allocator.available('a1').isEmpty()).toBe(true);
    allocator.recoverResources('f1', 'a1', offer!.resources);
    expect(allocator.available('a1').equals(r('cpus:4;mem:1024'))).toBe(true);
    allocator.addFramework('f2', { roles: ['web'] });
    expect(described(allocator.allocate())).toEqual(['f2@a1(web): cpus:4;mem:1024']);
  });

  it('forgets a removed agent and its allocations, and shrinks the total', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addAgent('a2', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    const offers = allocator.allocate(['a1']);
    expect(allocator.frameworkDominantShare('f1')).toBe(0.5);
    allocator.removeAgent('a1');
    allocator.removeAgent('never-added');
    expect(allocator.frameworkDominantShare('f1')).toBe(0);
    expect(allocator.totalQuantities()).toEqual(new Map([['cpus', 4], ['mem', 1024]]));
    // A late decline for the removed agent is ignored.
    declineAll(allocator, offers, 5);
    expect(allocator.activeFilterCount()).toBe(0);
  });
});

describe('invariants', () => {
  it('asserts on recovering what was not allocated', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['web'] });
    allocator.allocate();
    expect(() => allocator.recoverResources('f1', 'a1', r('cpus:5').allocatedTo('web'))).toThrow(BugIndicatingError);
  });

  it('asserts on used resources beyond the agent’s total', () => {
    const { allocator } = anAllocator();
    allocator.addFramework('f1', { roles: ['web'] });
    expect(() => allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1'), new Map([['f1', r('cpus:2').allocatedTo('web')]]))).toThrow(/tasks use more/);
  });

  it('asserts on duplicate adds and unknown ids', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1'));
    allocator.addFramework('f1', { roles: ['web', 'ops'] });
    expect(() => allocator.addAgent('a1', { hostname: 'h' }, r('cpus:1'))).toThrow(/already added/);
    expect(() => allocator.addFramework('f1', { roles: [] })).toThrow(/already added/);
    expect(() => allocator.suppressOffers('nope')).toThrow(/unknown framework/);
    expect(() => allocator.deactivateAgent('nope')).toThrow(/unknown agent/);
    // Resources without allocation_info are ambiguous for a framework in two roles.
    allocator.suppressOffers('f1');
    expect(() => allocator.recoverResources('f1', 'a1', r('cpus:1'))).toThrow(/ambiguous/);
  });
});
