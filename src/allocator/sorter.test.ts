import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DrfSorter } from './sorter.js';

/** Quantities in thousandths, as Resources.scalarQuantitiesMilli() gives them. */
function q(units: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(units).map(([name, n]) => [name, Math.round(n * 1000)]));
}

function sorterOver(total: Record<string, number>, clients: string[], excluded: string[] = []): DrfSorter {
  const sorter = new DrfSorter(new Set(excluded));
  sorter.updateTotal(q(total));
  for (const c of clients) sorter.add(c);
  return sorter;
}

describe('DrfSorter', () => {
  it('orders by dominant share, ties by id', () => {
    const s = sorterOver({ cpus: 10, mem: 100 }, ['c', 'a', 'b']);
    expect(s.sort()).toEqual(['a', 'b', 'c']);
    s.allocated('a', q({ cpus: 1, mem: 50 })); // a: max(0.1, 0.5) = 0.5
    s.allocated('b', q({ cpus: 3, mem: 10 })); // b: max(0.3, 0.1) = 0.3
    expect(s.sort()).toEqual(['c', 'b', 'a']);
    expect(s.share('a')).toBe(0.5);
    expect(s.share('b')).toBeCloseTo(0.3, 10);
  });

  it('moves a client back when its resources are returned', () => {
    const s = sorterOver({ cpus: 10 }, ['a', 'b']);
    s.allocated('a', q({ cpus: 5 }));
    expect(s.sort()).toEqual(['b', 'a']);
    s.unallocated('a', q({ cpus: 5 }));
    expect(s.sort()).toEqual(['a', 'b']);
    expect(s.allocation('a').size).toBe(0);
  });

  it('divides shares by weight', () => {
    const s = sorterOver({ cpus: 10 }, []);
    s.add('heavy', 2);
    s.add('light');
    s.allocated('heavy', q({ cpus: 4 })); // 0.4 / 2 = 0.2
    s.allocated('light', q({ cpus: 3 })); // 0.3
    expect(s.sort()).toEqual(['heavy', 'light']);
    s.updateWeight('heavy', 1); // 0.4
    expect(s.sort()).toEqual(['light', 'heavy']);
  });

  it('keeps inactive clients out of the order but keeps their allocation', () => {
    const s = sorterOver({ cpus: 10 }, ['a', 'b', 'c']);
    s.deactivate('b');
    expect(s.sort()).toEqual(['a', 'c']);
    s.allocated('b', q({ cpus: 2 }));
    s.allocated('a', q({ cpus: 5 }));
    s.activate('b');
    expect(s.sort()).toEqual(['c', 'b', 'a']);
    expect(s.activeCount()).toBe(3);
    expect(s.size()).toBe(3);
  });

  it('re-sorts when the total changes', () => {
    const s = sorterOver({ cpus: 10, mem: 100 }, ['a', 'b']);
    s.allocated('a', q({ cpus: 2 })); // 0.2
    s.allocated('b', q({ mem: 30 })); // 0.3
    expect(s.sort()).toEqual(['a', 'b']);
    s.updateTotal(q({ cpus: 4, mem: 100 })); // a: 0.5
    expect(s.sort()).toEqual(['b', 'a']);
  });

  it('leaves excluded names out of shares', () => {
    const s = sorterOver({ cpus: 10, gpus: 2 }, ['a', 'b'], ['gpus']);
    s.allocated('a', q({ cpus: 1, gpus: 2 })); // 0.1, gpus ignored
    s.allocated('b', q({ cpus: 2 })); // 0.2
    expect(s.sort()).toEqual(['a', 'b']);
  });

  it('asserts on misuse', () => {
    const s = sorterOver({ cpus: 10 }, ['a']);
    expect(() => s.add('a')).toThrow(/added twice/);
    expect(() => s.unallocated('a', q({ cpus: 1 }))).toThrow(/would hold/);
    expect(() => s.share('zz')).toThrow(/unknown client/);
    expect(() => s.add('b', 0)).toThrow(/must be positive/);
  });

  it('always agrees with a sort from scratch', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), client: fc.integer({ min: 0, max: 5 }), cpus: fc.integer({ min: 1, max: 5 }), mem: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('free' as const), client: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('toggle' as const), client: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('total' as const), cpus: fc.integer({ min: 50, max: 200 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ids = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
        const s = sorterOver({ cpus: 100, mem: 1000 }, ids);
        let total = { cpus: 100, mem: 1000 };
        const held = new Map(ids.map((id) => [id, { cpus: 0, mem: 0 }]));
        const active = new Set(ids);
        for (const o of ops) {
          if (o.kind === 'total') {
            total = { cpus: o.cpus, mem: 1000 };
            s.updateTotal(q(total));
            continue;
          }
          const id = ids[o.client]!;
          const h = held.get(id)!;
          if (o.kind === 'alloc') {
            s.allocated(id, q({ cpus: o.cpus, mem: o.mem }));
            h.cpus += o.cpus;
            h.mem += o.mem;
          } else if (o.kind === 'free') {
            s.unallocated(id, q({ cpus: h.cpus, mem: h.mem }));
            h.cpus = 0;
            h.mem = 0;
          } else if (active.delete(id)) {
            s.deactivate(id);
          } else {
            active.add(id);
            s.activate(id);
          }
          const share = (c: string): number => Math.max(held.get(c)!.cpus / total.cpus, held.get(c)!.mem / total.mem);
          const expected = [...active].sort((a, b) => share(a) - share(b) || (a < b ? -1 : 1));
          expect(s.sort()).toEqual(expected);
        }
      }),
    );
  });
});
