import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Resource } from '../api/index.js';
import { Resources } from './resources.js';

const ROLES = [undefined, 'eng', 'eng/ml'] as const;

/** Scalars with up to 3 decimals, under the roles above. */
const scalarResource = fc
  .record({
    name: fc.constantFrom('cpus', 'mem', 'disk', 'gpus', 'foo'),
    milli: fc.integer({ min: 0, max: 10_000_000 }),
    role: fc.constantFrom(...ROLES),
  })
  .map(({ name, milli, role }): Resource => ({
    name,
    type: 'SCALAR',
    // Whole gpus only, since parse (rightly) refuses fractional ones.
    scalar: { value: name === 'gpus' ? Math.round(milli / 1000) : milli / 1000 },
    ...(role === undefined ? {} : { reservations: [{ type: 'STATIC' as const, role }] }),
  }));

/**
 * Two Resources whose ranges and sets are disjoint: union is not invertible when they overlap
 * (ports [1-5] + [3-7] - [3-7] is [1-2]), just as in Mesos.
 */
const disjointPair = fc
  .record({
    a: fc.array(scalarResource, { maxLength: 6 }),
    b: fc.array(scalarResource, { maxLength: 6 }),
    ports: fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 40 }),
    items: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 6 }),
    split: fc.array(fc.boolean(), { minLength: 46, maxLength: 46 }),
  })
  .map(({ a, b, ports, items, split }) => {
    const side = (mine: boolean, offset: number): Resource[] => {
      const myPorts = ports.filter((_, i) => split[i + offset] === mine);
      const myItems = items.filter((_, i) => split[40 + i] === mine);
      return [
        { name: 'ports', type: 'RANGES', ranges: { range: myPorts.map((p) => ({ begin: p, end: p })) } },
        { name: 'bugs', type: 'SET', set: { item: myItems } },
      ];
    };
    return [Resources.fromWire([...a, ...side(true, 0)]), Resources.fromWire([...b, ...side(false, 0)])] as const;
  });

describe('Resources properties', () => {
  it('a + b - b == a', () => {
    fc.assert(fc.property(disjointPair, ([a, b]) => a.add(b).subtract(b).equals(a)));
  });

  it('a + b contains a and b', () => {
    fc.assert(fc.property(disjointPair, ([a, b]) => a.add(b).contains(a) && a.add(b).contains(b)));
  });

  it('addition commutes', () => {
    fc.assert(fc.property(disjointPair, ([a, b]) => a.add(b).equals(b.add(a))));
  });

  it('toWire and fromWire round-trip', () => {
    fc.assert(fc.property(disjointPair, ([a]) => Resources.fromWire(a.toWire()).equals(a)));
  });

  it('toString parses back to the same value', () => {
    fc.assert(
      fc.property(disjointPair, ([a]) => {
        const again = Resources.parse(a.toString());
        return !('error' in again) && again.equals(a);
      }),
    );
  });

  it('allocatableTo and notAllocatableTo split a value in two', () => {
    fc.assert(
      fc.property(disjointPair, fc.constantFrom('eng', 'eng/ml', 'web', '*'), ([a], role) => {
        const usable = a.allocatableTo(role);
        return usable.add(a.notAllocatableTo(role)).equals(a) && a.contains(usable) && usable.equals(a.allocatableTo(role));
      }),
    );
  });

  it('allocatedTo and unallocated are inverse, memoized or not', () => {
    fc.assert(
      fc.property(disjointPair, fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 12 }), ([a], roles) => {
        for (const role of roles) {
          const offered = a.allocatedTo(role);
          if (!offered.unallocated().equals(a)) return false;
          if (!offered.equals(a.unallocated().allocatedTo(role))) return false;
          if (a.isEmpty() !== offered.isEmpty()) return false;
        }
        return true;
      }),
    );
  });

  it('scalar sums stay exact however they are grouped', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 30 }), (millis) => {
        const total = millis.reduce((sum, m) => sum.add(Resources.fromWire([{ name: 'cpus', type: 'SCALAR', scalar: { value: m / 1000 } }])), Resources.empty());
        expect(total.scalar('cpus')).toBe(millis.reduce((s, m) => s + m, 0) / 1000);
      }),
    );
  });
});
