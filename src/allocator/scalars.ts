/**
 * Scalar quantities as typed arrays: each scalar resource name gets a slot, and a quantity is a
 * Float64Array of exact thousandths by slot. The sorters and the quota book keep their sums this
 * way, so an allocation is a few loops over doubles, not Map lookups and iterator garbage.
 */
import { BugIndicatingError } from '../base/index.js';
import type { Resources } from '../resources/index.js';

/** Thousandths by slot. A vector may be shorter than the names known: missing slots are 0. */
export type Milli = Float64Array;

/** Scalar quantities by name in thousandths, as Resources.scalarQuantitiesMilli() gives them. */
export type Quantities = ReadonlyMap<string, number>;

/** The vectors of one shared Resources value, kept on it (Resources.noteFor). */
interface KeptVectors {
  all: Milli | undefined;
  quota: Milli | undefined;
}

export class ScalarSlots {
  private readonly slots = new Map<string, number>();
  private readonly names: string[] = [];
  /** Vectors made now have this many slots; it doubles when names outgrow it. */
  private capacity = 8;
  private sum: Milli = new Float64Array(this.capacity);
  /** Slots in the order views list names. */
  private viewOrder: number[] = [];

  /** The slot of a name, given one the first time it is seen. Bound: Resources calls it back. */
  readonly slotOf = (name: string): number => {
    const slot = this.slots.get(name);
    if (slot !== undefined) return slot;
    const added = this.names.length;
    this.slots.set(name, added);
    this.names.push(name);
    if (added >= this.capacity) this.capacity *= 2;
    return added;
  };

  private readonly addToSum = (name: string, milli: number): void => {
    const slot = this.slotOf(name);
    if (slot >= this.sum.length) this.sum = grown(this.sum, this.capacity);
    this.sum[slot]! += milli;
  };

  /** The length of vectors made now: at least the number of names. */
  get vectorLength(): number {
    return this.capacity;
  }

  /** How many names have slots. */
  get count(): number {
    return this.names.length;
  }

  name(slot: number): string {
    return this.names[slot]!;
  }

  zeros(): Milli {
    return new Float64Array(this.capacity);
  }

  /**
   * The scalars of `resources` (only quota scalars with `quotaOnly`) in a vector to read, never
   * to write: a scratch vector that the next call overwrites, or one kept on a shared value.
   * Add it into something; do not keep it.
   */
  of(resources: Resources, quotaOnly = false): Milli {
    // Shared values (interned totals and their parts) come back cycle after cycle: their vectors
    // are kept on them, read-only like the scratch. Slots never move, so a kept vector stays right.
    if (resources.isShared()) {
      let kept = resources.noteOf(this) as KeptVectors | undefined;
      if (kept === undefined) resources.noteFor(this, (kept = { all: undefined, quota: undefined }));
      const known = quotaOnly ? kept.quota : kept.all;
      if (known !== undefined) return known;
      const made = this.sumOf(resources, quotaOnly).slice();
      if (quotaOnly) kept.quota = made;
      else kept.all = made;
      return made;
    }
    return this.sumOf(resources, quotaOnly);
  }

  private sumOf(resources: Resources, quotaOnly: boolean): Milli {
    this.sum.fill(0);
    resources.forEachScalarMilli(this.addToSum, quotaOnly);
    return this.sum;
  }

  /** A new vector from quantities by name. */
  fromMap(quantities: Quantities): Milli {
    let v = this.zeros();
    for (const [name, milli] of quantities) {
      const slot = this.slotOf(name);
      if (slot >= v.length) v = grown(v, this.capacity);
      v[slot]! += milli;
    }
    return v;
  }

  /** Quantities by name, zeros left out, well-known names first as Resources orders them: the views' shape. */
  toMap(v: Milli): Map<string, number> {
    if (this.viewOrder.length !== this.names.length) {
      this.viewOrder = this.names.map((_, slot) => slot).sort((a, b) => compareNames(this.names[a]!, this.names[b]!));
    }
    const out = new Map<string, number>();
    for (const i of this.viewOrder) if (i < v.length && v[i] !== 0) out.set(this.names[i]!, v[i]!);
    return out;
  }

  /** A mask of the slots of these names, for shares that leave them out. */
  mask(names: ReadonlySet<string>): Uint8Array {
    const slots = [...names].map(this.slotOf);
    const mask = new Uint8Array(Math.max(0, ...slots) + 1);
    for (const slot of slots) mask[slot] = 1;
    return mask;
  }
}

const WELL_KNOWN = ['cpus', 'gpus', 'mem', 'disk'];

function compareNames(a: string, b: string): number {
  const rank = (name: string) => (WELL_KNOWN.includes(name) ? WELL_KNOWN.indexOf(name) : WELL_KNOWN.length);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function grown(v: Milli, length: number): Milli {
  const out = new Float64Array(length);
  out.set(v);
  return out;
}

/** into + sign * from, in place; returns the vector to keep (a longer copy when `from` has more slots). */
export function addMilli(into: Milli, from: Milli, sign: number): Milli {
  let v = into;
  if (from.length > v.length) {
    // Only slots `from` holds something in need room.
    let last = from.length - 1;
    while (last >= v.length && from[last] === 0) last--;
    if (last >= v.length) v = grown(v, from.length);
  }
  const n = Math.min(v.length, from.length);
  for (let i = 0; i < n; i++) v[i]! += sign * from[i]!;
  return v;
}

/** The first slot below 0 (more taken back than was ever added: a bug), or -1. */
export function negativeSlot(v: Milli): number {
  for (let i = 0; i < v.length; i++) if (v[i]! < 0) return i;
  return -1;
}

/** The error for negativeSlot's find; the text is built only then, never on the hot path. */
export function negativeError(who: string, v: Milli, slot: number, slots: ScalarSlots): BugIndicatingError {
  return new BugIndicatingError(`${who} would hold ${v[slot]! / 1000} ${slots.name(slot)}`);
}

export function isZero(v: Milli): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

export function milliAt(v: Milli, slot: number): number {
  return slot < v.length ? v[slot]! : 0;
}

/** Max over slots of held / total, skipping slots masked out or without a total. */
export function dominantShare(held: Milli, total: Milli, excluded: Uint8Array): number {
  let dominant = 0;
  const n = Math.min(held.length, total.length);
  for (let i = 0; i < n; i++) {
    const t = total[i]!;
    if (t <= 0 || excluded[i] === 1) continue;
    const share = held[i]! / t;
    if (share > dominant) dominant = share;
  }
  return dominant;
}
