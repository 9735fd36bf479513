/**
 * The values inside a resource (facts 6.1): fixed-point scalars, inclusive integer ranges and
 * string sets. Pure functions over normalized, immutable values; Resources composes them.
 */
import { assert } from '../base/index.js';

/** Mesos scalars are fixed-point with 3 decimals; agora stores integer thousandths. */
export const MILLI = 1000;

/** Rounds to the nearest 0.001 as Mesos does, so 0.1 + 0.2 adds up to exactly 0.3. */
export function toMilli(value: number): number {
  const milli = Math.round(value * MILLI);
  assert(Number.isSafeInteger(milli), `scalar ${value} is out of range`);
  return milli;
}

export function fromMilli(milli: number): number {
  return milli / MILLI;
}

/** An inclusive range [begin, end] of non-negative integers. */
export type Interval = readonly [begin: number, end: number];

/**
 * Sorts and coalesces: overlapping or adjacent intervals become one ([1-2],[3-4] is [1-4]).
 * Every ranges value a Resources holds is in this form, so equality is element-wise.
 */
export function normalizeRanges(list: readonly Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [begin, end] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && begin <= last[1] + 1) last[1] = Math.max(last[1], end);
    else out.push([begin, end]);
  }
  return out;
}

/** Union of two normalized lists, merged in one pass. */
export function addRanges(a: readonly Interval[], b: readonly Interval[]): readonly Interval[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]![0] <= b[j]![0]) ? a[i++]! : b[j++]!;
    const last = out[out.length - 1];
    if (last !== undefined && next[0] <= last[1] + 1) last[1] = Math.max(last[1], next[1]);
    else out.push([next[0], next[1]]);
  }
  return out;
}

/** a minus b; subtracting from the middle of a range splits it in two. */
export function subtractRanges(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const [begin, end] of a) {
    let cursor = begin;
    // Skip removals wholly before this interval; both lists are sorted and disjoint.
    while (j < b.length && b[j]![1] < cursor) j++;
    let k = j;
    while (k < b.length && b[k]![0] <= end && cursor <= end) {
      const [rb, re] = b[k]!;
      if (rb > cursor) out.push([cursor, rb - 1]);
      cursor = Math.max(cursor, re + 1);
      if (re > end) break;
      k++;
    }
    if (cursor <= end) out.push([cursor, end]);
  }
  return out;
}

/** Whether every number in b is in a. */
export function rangesContain(a: readonly Interval[], b: readonly Interval[]): boolean {
  let i = 0;
  for (const [begin, end] of b) {
    while (i < a.length && a[i]![1] < begin) i++;
    const outer = a[i];
    if (outer === undefined || outer[0] > begin || outer[1] < end) return false;
  }
  return true;
}

export function rangesEqual(a: readonly Interval[], b: readonly Interval[]): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i]![0] && r[1] === b[i]![1]);
}

/** "[31000-32000,33000-34000]" in flag syntax; Mesos's /state uses ", " as separator. */
export function formatRanges(ranges: readonly Interval[], separator = ','): string {
  return `[${ranges.map(([b, e]) => `${b}-${e}`).join(separator)}]`;
}

/** Sets are sorted arrays of unique items. */
export function normalizeSet(items: readonly string[]): string[] {
  return [...new Set(items)].sort();
}

export function addSets(a: readonly string[], b: readonly string[]): string[] {
  return b.length === 0 ? [...a] : normalizeSet([...a, ...b]);
}

export function subtractSets(a: readonly string[], b: readonly string[]): string[] {
  const removed = new Set(b);
  return a.filter((item) => !removed.has(item));
}

export function setContains(a: readonly string[], b: readonly string[]): boolean {
  if (b.length > a.length) return false;
  const present = new Set(a);
  return b.every((item) => present.has(item));
}

export function setsEqual(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

export function formatSet(items: readonly string[], separator = ','): string {
  return `{${items.join(separator)}}`;
}

/** The decimal grammar of a scalar in flags ("2", "0.5", "1e3"); a sign is checked separately. */
export const SCALAR_TEXT = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
