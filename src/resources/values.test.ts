import { describe, expect, it } from 'vitest';
import {
  addRanges,
  formatRanges,
  normalizeRanges,
  rangesContain,
  subtractRanges,
  subtractSets,
  setContains,
  toMilli,
  fromMilli,
} from './values.js';

describe('fixed-point scalars', () => {
  it('rounds to thousandths so decimal sums are exact', () => {
    expect(toMilli(0.1) + toMilli(0.2)).toBe(toMilli(0.3));
    expect(fromMilli(toMilli(0.1) + toMilli(0.2))).toBe(0.3);
    expect(toMilli(0.0014)).toBe(1);
    expect(toMilli(0.0015)).toBe(2);
  });
});

describe('ranges', () => {
  it.each([
    { given: [[5, 6], [1, 2], [3, 4]], want: [[1, 6]] },
    { given: [[1, 10], [2, 3]], want: [[1, 10]] },
    { given: [[1, 2], [4, 5]], want: [[1, 2], [4, 5]] },
    { given: [[1, 5], [5, 8]], want: [[1, 8]] },
  ] as const)('normalizes $given to $want', ({ given, want }) => {
    expect(normalizeRanges(given)).toEqual(want);
  });

  it.each([
    { a: [[1, 10]], b: [[4, 5]], want: [[1, 3], [6, 10]] },
    { a: [[1, 10]], b: [[1, 10]], want: [] },
    { a: [[1, 10]], b: [[1, 1]], want: [[2, 10]] },
    { a: [[1, 10]], b: [[10, 10]], want: [[1, 9]] },
    { a: [[1, 5], [8, 12]], b: [[4, 9]], want: [[1, 3], [10, 12]] },
    { a: [[1, 5], [8, 12], [20, 30]], b: [[2, 2], [11, 25]], want: [[1, 1], [3, 5], [8, 10], [26, 30]] },
    { a: [[1, 5]], b: [], want: [[1, 5]] },
  ] as const)('$a minus $b is $want', ({ a, b, want }) => {
    expect(subtractRanges(a, b)).toEqual(want);
  });

  it('adds by union and coalesces adjacent ranges', () => {
    expect(addRanges([[31000, 31499]], [[31500, 32000]])).toEqual([[31000, 32000]]);
  });

  it('contains only whole sub-ranges', () => {
    expect(rangesContain([[1, 5], [8, 12]], [[2, 3], [8, 12]])).toBe(true);
    expect(rangesContain([[1, 5], [8, 12]], [[4, 9]])).toBe(false);
    expect(rangesContain([[1, 5]], [])).toBe(true);
    expect(rangesContain([], [[1, 1]])).toBe(false);
  });

  it('formats in flag syntax', () => {
    expect(formatRanges([[1, 2], [4, 5]])).toBe('[1-2,4-5]');
    expect(formatRanges([[1, 2], [4, 5]], ', ')).toBe('[1-2, 4-5]');
  });
});

describe('sets', () => {
  it('subtracts and contains by item', () => {
    expect(subtractSets(['a', 'b', 'c'], ['b'])).toEqual(['a', 'c']);
    expect(setContains(['a', 'b'], ['b'])).toBe(true);
    expect(setContains(['a'], ['a', 'b'])).toBe(false);
  });
});
