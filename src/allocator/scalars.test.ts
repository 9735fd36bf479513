import { describe, expect, it } from 'vitest';
import { ManualClock } from '../base/index.js';
import { Resources } from '../resources/index.js';
import { Allocator } from './allocator.js';
import { ScalarSlots, addMilli, dominantShare, negativeSlot } from './scalars.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

describe('ScalarSlots', () => {
  it('sums an offer by slot, only quota scalars when asked', () => {
    const slots = new ScalarSlots();
    const offer = r('cpus:1.5;mem:512;cpus(eng):2;ports:[1-2]');
    expect(slots.toMap(slots.of(offer))).toEqual(new Map([['cpus', 3500], ['mem', 512_000]]));
    expect(slots.toMap(slots.of(offer, true))).toEqual(new Map([['cpus', 1500], ['mem', 512_000]]));
  });

  it('grows vectors made before new names arrived', () => {
    const slots = new ScalarSlots();
    let old = slots.fromMap(new Map([['cpus', 1000]]));
    const names = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const many = slots.fromMap(new Map(names.map((name) => [name, 7])));
    expect(many.length).toBeGreaterThanOrEqual(21);
    old = addMilli(old, many, 1);
    expect(slots.toMap(old).get('r19')).toBe(7);
    expect(slots.toMap(old).get('cpus')).toBe(1000);
    old = addMilli(old, many, -1);
    expect(negativeSlot(old)).toBe(-1);
    expect(negativeSlot(addMilli(old, many, -1))).toBeGreaterThan(0);
  });

  it('takes the dominant share over slots with a total, leaving masked ones out', () => {
    const slots = new ScalarSlots();
    const total = slots.fromMap(new Map([['cpus', 10_000], ['gpus', 2000]]));
    const held = slots.fromMap(new Map([['cpus', 1000], ['gpus', 2000], ['foo', 5]]));
    expect(dominantShare(held, total, slots.mask(new Set()))).toBe(1);
    expect(dominantShare(held, total, slots.mask(new Set(['gpus'])))).toBe(0.1);
  });
});

describe('an allocator with many scalar names', () => {
  it('keeps its books when names arrive after quota, sorters and shares were made', () => {
    const allocator = new Allocator({ clock: new ManualClock() });
    allocator.updateQuota('eng', { limits: { cpus: 3 } });
    allocator.addAgent('a0', { hostname: 'h0' }, r('cpus:4;mem:1024'));
    allocator.addFramework('f1', { roles: ['eng'] });
    const [first] = allocator.allocate();
    expect(first?.resources.unallocated().toString()).toBe('cpus:3;mem:1024');
    // Twelve new names at once: more than the first vectors had room for.
    const extra = Array.from({ length: 12 }, (_, i) => `x${i}:${i + 1}`).join(';');
    allocator.addAgent('a1', { hostname: 'h1' }, r(`cpus:4;mem:1024;${extra}`));
    const [offer] = allocator.allocate();
    // The limit leaves no cpus; the new names pass uncapped.
    expect(offer?.resources.scalar('cpus')).toBe(0);
    expect(offer?.resources.scalar('x11')).toBe(12);
    expect(allocator.roleAllocation('eng').get('x11')).toBe(12);
    expect(allocator.totalQuantities().get('x0')).toBe(1);
    expect(allocator.consumedQuota('eng').get('x5')).toBe(6);
    allocator.checkInvariants();
    allocator.recoverResources(offer!.frameworkId, offer!.agentId, offer!.resources);
    expect(allocator.roleAllocation('eng')).toEqual(new Map([['cpus', 3], ['mem', 1024]]));
    expect(allocator.consumedQuota('eng')).toEqual(new Map([['cpus', 3], ['mem', 1024]]));
    allocator.checkInvariants();
  });
});
