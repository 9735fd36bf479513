import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../base/index.js';
import { Resources } from '../resources/index.js';
import { type Allocation, Allocator } from './allocator.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

const live: Allocator[] = [];
function anAllocator(): { allocator: Allocator; clock: ManualClock } {
  const clock = new ManualClock();
  const allocator = new Allocator({ clock });
  live.push(allocator);
  return { allocator, clock };
}
afterEach(() => {
  for (const allocator of live.splice(0)) allocator.checkInvariants();
});

function count(allocations: Allocation[], by: (a: Allocation) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of allocations) out[by(a)] = (out[by(a)] ?? 0) + 1;
  return out;
}

/** Unweighted dominant share of what the role and its subtree hold (cpus only here). */
function cpuShare(allocator: Allocator, role: string): number {
  return (allocator.roleAllocation(role).get('cpus') ?? 0) / (allocator.totalQuantities().get('cpus') ?? 1);
}

describe('weighted DRF over roles', () => {
  it('gives roles with weights 2:1 dominant shares 2:1', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 30; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:1;mem:1024'));
    allocator.updateWeights([['gold', 2]]);
    allocator.addFramework('g', { roles: ['gold'] });
    allocator.addFramework('s', { roles: ['silver'] });
    expect(count(allocator.allocate(), (a) => a.role)).toEqual({ gold: 20, silver: 10 });
    expect(cpuShare(allocator, 'gold')).toBeCloseTo(2 / 3, 10);
    expect(cpuShare(allocator, 'silver')).toBeCloseTo(1 / 3, 10);
    // The share Mesos reports is divided by the weight: equal once the weights are honoured.
    expect(allocator.roleDominantShare('gold')).toBeCloseTo(allocator.roleDominantShare('silver'), 10);
    expect(allocator.weight('gold')).toBe(2);
    expect(allocator.weight('silver')).toBe(1);
  });

  it('orders each level of the role tree by the share of the whole subtree', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 40; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:1;mem:1024'));
    allocator.addFramework('web', { roles: ['eng/web'] });
    allocator.addFramework('ml', { roles: ['eng/ml'] });
    allocator.addFramework('ops', { roles: ['ops'] });
    // eng competes with ops as one: half each; inside eng, web and ml split eng's half.
    expect(count(allocator.allocate(), (a) => a.role)).toEqual({ 'eng/ml': 10, 'eng/web': 10, ops: 20 });
    expect(cpuShare(allocator, 'eng')).toBe(0.5);
    expect(allocator.roleDominantShare('eng')).toBe(0.5);
    expect(allocator.roleDominantShare('eng/web')).toBe(0.25);
    expect(allocator.roles()).toEqual(['eng', 'eng/ml', 'eng/web', 'ops']);
  });

  it('weighs a sub-role against its siblings only', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 30; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:1;mem:1024'));
    allocator.updateWeights([['eng/web', 2]]);
    allocator.addFramework('web', { roles: ['eng/web'] });
    allocator.addFramework('ml', { roles: ['eng/ml'] });
    allocator.addFramework('ops', { roles: ['ops'] });
    expect(count(allocator.allocate(), (a) => a.role)).toEqual({ 'eng/ml': 5, 'eng/web': 10, ops: 15 });
  });

  it('lets a role with frameworks of its own compete with its children', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 20; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:1;mem:1024'));
    allocator.addFramework('eng', { roles: ['eng'] });
    allocator.addFramework('web', { roles: ['eng/web'] });
    allocator.addFramework('ops', { roles: ['ops'] });
    expect(count(allocator.allocate(), (a) => a.role)).toEqual({ eng: 5, 'eng/web': 5, ops: 10 });
  });

  it('converges two task shapes in one role to DRF shares within 5%', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 20; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:16;mem:16384'));
    allocator.addFramework('cpu-heavy', { roles: ['batch'] });
    allocator.addFramework('mem-heavy', { roles: ['batch'] });
    const shape: Record<string, Resources> = { 'cpu-heavy': r('cpus:1;mem:128'), 'mem-heavy': r('cpus:0.25;mem:512') };
    // Prompt passes, one agent at a time: each offer goes to the lower share, which launches one
    // task and declines the rest without a filter, as a scheduler with a queue of tasks does.
    for (let step = 0, idle = 0; step < 5000 && idle < 20; step++) {
      const [offer] = allocator.allocate([`a${step % 20}`]);
      if (offer === undefined) continue;
      const task = shape[offer.frameworkId]!.allocatedTo(offer.role);
      const fits = offer.resources.contains(task);
      idle = fits ? 0 : idle + 1;
      allocator.recoverResources(offer.frameworkId, offer.agentId, fits ? offer.resources.subtract(task) : offer.resources);
    }
    // DRF's answer for 320 cpus and 320 GB: x cpu-heavy and 2x mem-heavy tasks with 1.5x cpus = 320.
    const cpu = allocator.frameworkDominantShare('cpu-heavy');
    const mem = allocator.frameworkDominantShare('mem-heavy');
    expect(cpu).toBeCloseTo(213 / 320, 1);
    expect(Math.abs(cpu - mem) / Math.max(cpu, mem)).toBeLessThan(0.05);
  });
});

describe('multi-role frameworks', () => {
  it('receive one offer per agent and role, every resource carrying allocation_info.role', () => {
    const { allocator } = anAllocator();
    for (let i = 0; i < 4; i++) allocator.addAgent(`a${i}`, { hostname: 'h' }, r('cpus:2;mem:256'));
    allocator.addFramework('multi', { roles: ['web', 'ops'] });
    const offers = allocator.allocate();
    expect(count(offers, (a) => a.role)).toEqual({ ops: 2, web: 2 });
    for (const offer of offers) {
      expect(offer.resources.toWire().every((res) => res.allocation_info?.role === offer.role)).toBe(true);
    }
    expect(allocator.frameworkDominantShare('multi', 'web')).toBe(0.5);
    expect(allocator.frameworkDominantShare('multi')).toBe(1);
  });

  it('clears filters of roles it stops suppressing through updateFramework', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, r('cpus:2;mem:256'));
    allocator.addFramework('f', { roles: ['web', 'ops'], suppressedRoles: ['ops'] });
    const [offer] = allocator.allocate();
    allocator.recoverResources('f', 'a1', offer!.resources, 3600);
    allocator.updateFramework('f', { roles: ['web', 'ops'], suppressedRoles: ['web'] });
    expect(allocator.activeFilterCount('web')).toBe(1); // web is suppressed now, its filter kept
    expect(allocator.allocate().map((a) => a.role)).toEqual(['ops']);
    allocator.updateFramework('f', { roles: ['web', 'ops'] });
    expect(allocator.activeFilterCount('web')).toBe(0);
  });
});

describe('reservation refinement', () => {
  const refined = Resources.fromWire([
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'STATIC', role: 'eng' }, { type: 'DYNAMIC', role: 'eng/web' }] },
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'eng' }] },
    { name: 'mem', type: 'SCALAR', scalar: { value: 512 } },
  ]);

  it('offers refined reservations only to frameworks with RESERVATION_REFINEMENT', () => {
    const { allocator } = anAllocator();
    allocator.addAgent('a1', { hostname: 'h' }, refined);
    allocator.addFramework('old', { roles: ['eng/web'] });
    const [offer] = allocator.allocate();
    expect(offer!.resources.unallocated().toString()).toBe('cpus(eng):1;mem:512');
    allocator.recoverResources('old', 'a1', offer!.resources);
    allocator.removeFramework('old');
    allocator.addFramework('new', { roles: ['eng/web'], reservationRefinement: true });
    const [again] = allocator.allocate();
    expect(again!.resources.scalar('cpus')).toBe(3);
  });
});
