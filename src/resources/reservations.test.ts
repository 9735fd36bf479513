import { describe, expect, it } from 'vitest';
import { Resources } from './resources.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

/** Adds a DYNAMIC reservation for `role` on top of each resource's stack. */
function refine(resources: Resources, role: string): Resources {
  return Resources.fromWire(
    resources.toWire().map((res) => ({ ...res, reservations: [...(res.reservations ?? []), { type: 'DYNAMIC' as const, role }] })),
  );
}

describe('reservation edits', () => {
  it('pops the top of each reservation stack', () => {
    const once = refine(r('cpus:2;mem(eng):512'), 'eng/web');
    expect(once.toString()).toBe('cpus(eng/web):2;mem(eng/web):512');
    expect(once.popReservation().toString()).toBe('cpus:2;mem(eng):512');
    expect(() => r('cpus:1').popReservation()).toThrow(/not reserved/);
  });

  it('drops dynamic reservations and keeps static ones', () => {
    const agent = refine(r('cpus:1'), 'db').add(refine(r('mem(eng):64'), 'eng/ml')).add(r('disk:10'));
    expect(agent.withoutDynamicReservations().toString()).toBe('cpus:1;mem(eng):64;disk:10');
    expect(agent.hasRefinedReservations()).toBe(true);
    expect(agent.withoutRefinedReservations().toString()).toBe('cpus(db):1;disk:10');
  });

  it('sums reserved scalars by the role at the top of each stack', () => {
    const agent = refine(r('cpus(eng):2'), 'eng/ml').add(r('cpus(eng):1;mem(eng):64;ports(eng):[1-2];cpus:8'));
    expect([...agent.reservedQuantitiesByRole()].sort(([a], [b]) => a.localeCompare(b)).map(([role, q]) => [role, Object.fromEntries(q)])).toEqual([
      ['eng', { cpus: 1000, mem: 64_000 }],
      ['eng/ml', { cpus: 2000 }],
    ]);
    expect(agent.reservedRoles()).toEqual(['eng', 'eng/ml']);
    expect(agent.reserved().scalar('cpus')).toBe(3);
  });

  it('splits off the unreserved scalars quota counts, and shrinks them to caps', () => {
    const agent = r('cpus:4;mem:1024;cpus(eng):2;ports:[1-10]');
    expect(agent.quotaScalars().toString()).toBe('cpus:4;mem:1024');
    expect(agent.withoutQuotaScalars().toString()).toBe('cpus(eng):2;ports:[1-10]');
    expect(agent.shrinkQuotaScalars(new Map([['cpus', 1500]]), 'keep').toString()).toBe('cpus:1.5;cpus(eng):2;mem:1024;ports:[1-10]');
    expect(agent.shrinkQuotaScalars(new Map([['cpus', 1500]]), 'drop').toString()).toBe('cpus:1.5;cpus(eng):2;ports:[1-10]');
    // Nothing to cut: the very same value comes back.
    expect(agent.shrinkQuotaScalars(new Map([['cpus', 9000]]), 'keep')).toBe(agent);
  });
});
