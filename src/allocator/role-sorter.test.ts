import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoleSorter } from './role-sorter.js';

const q = (cpus: number): Map<string, number> => new Map(cpus === 0 ? [] : [['cpus', cpus * 1000]]);

function sorterOver(totalCpus: number, weights: Record<string, number> = {}): RoleSorter {
  const sorter = new RoleSorter(new Set(), (role) => weights[role] ?? 1);
  sorter.updateTotal(q(totalCpus));
  return sorter;
}

describe('RoleSorter', () => {
  it('orders level by level, a subtree by the share of everything below it', () => {
    const s = sorterOver(100);
    for (const role of ['eng/web', 'eng/ml', 'ops']) {
      s.add(role);
      s.setActive(role, true);
    }
    s.allocated('eng/web', q(10));
    s.allocated('eng/ml', q(5));
    s.allocated('ops', q(12));
    // eng holds 15, ops 12: ops first; within eng, ml (5) before web (10).
    expect(s.sort()).toEqual(['ops', 'eng/ml', 'eng/web']);
    expect(s.share('eng')).toBeCloseTo(0.15, 10);
    expect(s.subtreeAllocation('eng').get('cpus')).toBe(15_000);
  });

  it('divides by weight at each level, and a role competes with its own children', () => {
    const s = sorterOver(100, { eng: 2 });
    for (const role of ['eng', 'eng/web', 'ops']) {
      s.add(role);
      s.setActive(role, true);
    }
    s.allocated('eng', q(4));
    s.allocated('eng/web', q(2));
    s.allocated('ops', q(5));
    // eng's subtree: 6% / weight 2 = 0.03 < ops 0.05. Inside eng, its own 4% / 2 ties web's 2%: own first.
    expect(s.sort()).toEqual(['eng', 'eng/web', 'ops']);
    s.allocated('eng', q(1));
    expect(s.sort()).toEqual(['eng/web', 'eng', 'ops']);
  });

  it('forgets roles without frameworks, keeping ancestors that still have some below them', () => {
    const s = sorterOver(10);
    s.add('a/b');
    s.add('a/c');
    s.remove('a/b');
    expect(s.roles().sort()).toEqual(['a', 'a/c']);
    s.remove('a/c');
    expect(s.roles()).toEqual([]);
    expect(() => s.remove('x')).toThrow(/unknown role/);
  });

  it('always agrees with a hierarchical sort from scratch', () => {
    const roles = ['a', 'a/x', 'a/y', 'b', 'b/z/w', 'c'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), role: fc.nat(5), cpus: fc.integer({ min: 1, max: 9 }) }),
      fc.record({ kind: fc.constant('free' as const), role: fc.nat(5) }),
      fc.record({ kind: fc.constant('toggle' as const), role: fc.nat(5) }),
      fc.record({ kind: fc.constant('weight' as const), role: fc.nat(5), weight: fc.constantFrom(1, 2, 3) }),
      fc.record({ kind: fc.constant('total' as const), cpus: fc.integer({ min: 50, max: 200 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const weights: Record<string, number> = {};
        const s = sorterOver(100, weights);
        let total = 100;
        const held = new Map(roles.map((role) => [role, 0]));
        const active = new Set<string>();
        for (const role of roles) s.add(role);
        for (const o of ops) {
          if (o.kind === 'total') {
            total = o.cpus;
            s.updateTotal(q(total));
          } else if (o.kind === 'alloc') {
            s.allocated(roles[o.role]!, q(o.cpus));
            held.set(roles[o.role]!, held.get(roles[o.role]!)! + o.cpus);
          } else if (o.kind === 'free') {
            s.unallocated(roles[o.role]!, q(held.get(roles[o.role]!)!));
            held.set(roles[o.role]!, 0);
          } else if (o.kind === 'weight') {
            weights[roles[o.role]!] = o.weight;
            s.weightChanged(roles[o.role]!);
          } else {
            const role = roles[o.role]!;
            if (active.delete(role)) s.setActive(role, false);
            else {
              active.add(role);
              s.setActive(role, true);
            }
          }
          expect(s.sort()).toEqual(fromScratch(roles, held, active, weights, total));
        }
      }),
    );
  });
});

/** The order by definition: at each node, its own slot and its children's subtrees by share/weight, then name. */
function fromScratch(roles: string[], held: Map<string, number>, active: Set<string>, weights: Record<string, number>, total: number): string[] {
  const all = new Set<string>();
  for (const role of roles) for (let i = role.indexOf('/'); ; i = role.indexOf('/', i + 1)) {
    all.add(i < 0 ? role : role.slice(0, i));
    if (i < 0) break;
  }
  const below = (role: string) => [...all].filter((r) => r === role || r.startsWith(`${role}/`));
  const subtree = (role: string) => below(role).reduce((sum, r) => sum + (held.get(r) ?? 0), 0);
  const anyActive = (role: string) => below(role).some((r) => active.has(r));
  const weight = (role: string) => weights[role] ?? 1;
  const visit = (parent: string | undefined): string[] => {
    const children = [...all].filter((r) => (parent === undefined ? !r.includes('/') : r.startsWith(`${parent}/`) && !r.slice(parent.length + 1).includes('/')));
    type Slot = { role: string; own: boolean; share: number };
    const slots: Slot[] = children.filter(anyActive).map((role) => ({ role, own: false, share: subtree(role) / total / weight(role) }));
    if (parent !== undefined && active.has(parent)) slots.push({ role: parent, own: true, share: (held.get(parent) ?? 0) / total / weight(parent) });
    slots.sort((x, y) => x.share - y.share || (x.role < y.role ? -1 : x.role > y.role ? 1 : x.own ? -1 : 1));
    return slots.flatMap((slot) => (slot.own ? [slot.role] : visit(slot.role)));
  };
  return visit(undefined);
}
