/**
 * The Resources value type: an immutable, normalized bag of Mesos resources with exact
 * arithmetic. Wire conversion and text parsing meet here; no I/O, no knowledge of offers.
 */
import { AgoraError, BugIndicatingError } from '../base/index.js';
import type { Resource } from '../api/index.js';
import {
  type Entry,
  type WireFormat,
  addValues,
  containsValue,
  entryFromWire,
  entryToWire,
  equalValues,
  isEmptyValue,
  subtractValues,
  withAllocationRole,
  withValue,
} from './entry.js';
import { parseResourceText } from './parse.js';
import { dropDynamicReservations, isQuotaScalar, popReservations, shrinkQuotaScalars, shrinkQuotaScalarsBySlot } from './reservations.js';
import { isAncestorRole } from './roles.js';
import { type Interval, addRanges, addSets, formatRanges, formatSet, fromMilli } from './values.js';

/**
 * Sorts by key, sums entries with equal keys and drops empty ones. A name must keep one type:
 * "ports" as both RANGES and SCALAR is refused (returned as an error text).
 */
function canonicalize(list: Entry[]): Entry[] | string {
  list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const out: Entry[] = [];
  for (const entry of list) {
    const last = out[out.length - 1];
    if (last !== undefined && last.name === entry.name && last.value.type !== entry.value.type) {
      return `"${entry.name}" is given both as ${last.value.type} and as ${entry.value.type}; a resource name has one type`;
    }
    if (last !== undefined && last.key === entry.key) {
      out[out.length - 1] = withValue(last, addValues(last.value, entry.value));
    } else {
      out.push(entry);
    }
  }
  return out.filter((e) => !isEmptyValue(e.value));
}

/** Merges two canonical lists in one pass (add is on the allocator's hot path: no sort). */
function mergeAdd(a: readonly Entry[], b: readonly Entry[]): Entry[] {
  const out: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    let next: Entry;
    if (y === undefined || (x !== undefined && x.key < y.key)) {
      next = x!;
      i++;
    } else if (x === undefined || y.key < x.key) {
      next = y;
      j++;
    } else {
      next = withValue(x, addValues(x.value, y.value));
      i++;
      j++;
    }
    const last = out[out.length - 1];
    if (last !== undefined && last.name === next.name && last.value.type !== next.value.type) {
      throw new BugIndicatingError(`Resources: "${next.name}" is given both as ${last.value.type} and as ${next.value.type}`);
    }
    out.push(next);
  }
  return out;
}

function isSorted(entries: readonly Entry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.key < entries[i]!.key)) return false;
  return true;
}

/** Built only on failure (formatting on every call would dominate), and by a function declared once: no closure per call. */
function notContained(have: Resources, other: Resources): BugIndicatingError {
  return new BugIndicatingError(`subtract: ${have} does not contain ${other}`);
}

function canonicalOrAssert(list: Entry[]): Resources {
  const result = canonicalize(list);
  if (typeof result === 'string') throw new BugIndicatingError(`Resources: ${result}`);
  return Resources.ofEntries(result);
}

const ALLOCATED_MEMO_SLOTS = 4;
/** An interned value serves every agent with that total: one memo per role pays for itself. */
const SHARED_MEMO_SLOTS = 64;

export class Resources {
  private static readonly EMPTY = new Resources([]);
  private readonly anyReserved: boolean;
  private readonly anyRefined: boolean;
  private readonly anyUnreserved: boolean;
  /** The allocation role all entries share (undefined: none has one), or null when they differ. */
  private readonly commonRole: string | undefined | null;
  // Memos, safe because the value is immutable. The allocator offers the same available
  // resources again and again; with these, allocatedTo() and the recovery's unallocated()
  // hand back the very same objects instead of rebuilding them every cycle.
  private milliCache: ReadonlyMap<string, number> | undefined;
  // A few slots, not one per role: an agent's resources are offered to many roles over time,
  // and a copy per role would cost every agent memory in proportion to the number of roles.
  private allocatedMemo: Resources[] | undefined;
  private unallocatedCache: Resources | undefined;
  /** Only roles that some reservation here serves; every other role gets unreservedSplit. */
  private allocatableCache: Map<string, readonly [Resources, Resources]> | undefined;
  private unreservedSplit: readonly [Resources, Resources] | undefined;
  private quotaSplitCache: readonly [Resources, Resources] | undefined;
  private reservedByRoleCache: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined;
  /**
   * Interned (ResourcesInterner), or a memoized part of an interned value: shared by every
   * agent with the same resources, so its memos keep a copy per role rather than a few.
   */
  private shared = false;
  /** One caller's value derived from this one (the allocator's scalar vectors), see noteFor. */
  private noteOwner: object | undefined;
  private note: unknown;

  /** Entries are canonical: sorted by key, unique keys, no empty values, one type per name. */
  private constructor(private readonly entries: readonly Entry[]) {
    let anyReserved = false;
    let anyRefined = false;
    let anyUnreserved = false;
    let common: string | undefined | null = entries[0]?.identity.allocationRole;
    for (const e of entries) {
      if (e.identity.reservedRole !== undefined) anyReserved = true;
      else anyUnreserved = true;
      if (e.identity.reservations.length > 1) anyRefined = true;
      if (e.identity.allocationRole !== common) common = null;
    }
    this.anyReserved = anyReserved;
    this.anyRefined = anyRefined;
    this.anyUnreserved = anyUnreserved;
    this.commonRole = common;
  }

  /** @internal For this module's helpers; callers use fromWire or parse. */
  static ofEntries(entries: readonly Entry[]): Resources {
    return entries.length === 0 ? Resources.EMPTY : new Resources(entries);
  }

  static empty(): Resources {
    return Resources.EMPTY;
  }

  /** Like fromWire, but returns the validation error (naming the resource) instead of throwing. */
  static tryFromWire(list: readonly Resource[]): Resources | { error: string } {
    const entries: Entry[] = [];
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      const entry = entryFromWire(r);
      if ('error' in entry) return { error: `resources[${i}] "${r.name}": ${entry.error}` };
      entries.push(entry);
    }
    const result = canonicalize(entries);
    return typeof result === 'string' ? { error: result } : Resources.ofEntries(result);
  }

  /**
   * Merges like entries. Invalid input (negative scalar, begin > end, a name with two types,
   * a bad reservation stack) throws AgoraError AGORA_ERR_VALIDATION, a 400 if it reaches an
   * edge; cores that must not throw call tryFromWire.
   */
  static fromWire(list: readonly Resource[]): Resources {
    const result = Resources.tryFromWire(list);
    if ('error' in result) throw new AgoraError('AGORA_ERR_VALIDATION', `Invalid resources: ${result.error}`);
    return result;
  }

  /** Mesos --resources text: "cpus:2;mem:1024;disk:4096;ports:[31000-32000];bugs(role):{a,b}" or a JSON array of Resource. */
  static parse(text: string, defaultRole?: string): Resources | { error: string } {
    const parsed = parseResourceText(text, defaultRole);
    return 'error' in parsed ? parsed : Resources.tryFromWire(parsed.resources);
  }

  toWire(format: WireFormat = 'post-refinement'): Resource[] {
    return this.entries.map((e) => entryToWire(e, format));
  }

  add(other: Resources): Resources {
    if (other.entries.length === 0) return this;
    if (this.entries.length === 0) return other;
    return Resources.ofEntries(mergeAdd(this.entries, other.entries));
  }

  /** this minus other; other must be contained in this (asserted: subtracting more is a bug). */
  subtract(other: Resources): Resources {
    if (other.entries.length === 0) return this;
    const out: Entry[] = [];
    let j = 0;
    for (const entry of this.entries) {
      const removal = other.entries[j];
      if (removal === undefined || removal.key !== entry.key) {
        if (removal !== undefined && removal.key < entry.key) throw notContained(this, other);
        out.push(entry);
        continue;
      }
      if (!containsValue(entry.value, removal.value)) throw notContained(this, other);
      const value = subtractValues(entry.value, removal.value);
      if (!isEmptyValue(value)) out.push(withValue(entry, value));
      j++;
    }
    if (j !== other.entries.length) throw notContained(this, other);
    return Resources.ofEntries(out);
  }

  contains(other: Resources): boolean {
    let i = 0;
    for (const wanted of other.entries) {
      while (i < this.entries.length && this.entries[i]!.key < wanted.key) i++;
      const have = this.entries[i];
      if (have === undefined || have.key !== wanted.key || !containsValue(have.value, wanted.value)) return false;
    }
    return true;
  }

  equals(other: Resources): boolean {
    if (this === other) return true;
    if (this.entries.length !== other.entries.length) return false;
    // A loop, not every(): recovery compares with the agent's total each time.
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      const o = other.entries[i]!;
      if (e.key !== o.key || !equalValues(e.value, o.value)) return false;
    }
    return true;
  }

  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Total scalar quantity of that name across roles and reservations (0 if none). */
  scalar(name: string): number {
    return fromMilli(this.scalarQuantitiesMilli().get(name) ?? 0);
  }

  names(): string[] {
    return [...new Set(this.entries.map((e) => e.name))];
  }

  /** Per-scalar quantities, e.g. {cpus: 2, mem: 1024}, ignoring roles. */
  scalarQuantities(): Map<string, number> {
    return new Map([...this.scalarQuantitiesMilli()].map(([name, milli]) => [name, fromMilli(milli)]));
  }

  /**
   * Per-scalar quantities in exact thousandths, computed once per value (it is immutable).
   * For callers that keep running sums, such as the allocator's sorters, so they never drift.
   */
  scalarQuantitiesMilli(): ReadonlyMap<string, number> {
    if (this.milliCache === undefined) {
      const sums = new Map<string, number>();
      for (const e of this.entries) {
        if (e.value.type === 'SCALAR') sums.set(e.name, (sums.get(e.name) ?? 0) + e.value.milli);
      }
      this.milliCache = sums;
    }
    return this.milliCache;
  }

  /**
   * Calls `visit` with each scalar entry's name and thousandths (several entries may share a name:
   * the caller sums), only unreserved non-revocable ones with `quotaOnly` (what quotaScalars()
   * keeps). Allocates nothing: the allocator keeps its sums in typed arrays fed from this.
   */
  forEachScalarMilli(visit: (name: string, milli: number) => void, quotaOnly = false): void {
    for (const e of this.entries) {
      if (e.value.type !== 'SCALAR' || (quotaOnly && !isQuotaScalar(e))) continue;
      visit(e.name, e.value.milli);
    }
  }

  /** The /state shape: cpus, gpus, mem and disk always present; ranges "[a-b, c-d]", sets "{a, b}" as Mesos prints them. */
  summary(): Record<string, number | string> {
    const out: Record<string, number | string> = { cpus: 0, gpus: 0, mem: 0, disk: 0 };
    const ranges = new Map<string, readonly Interval[]>();
    const sets = new Map<string, string[]>();
    for (const [name, milli] of this.scalarQuantitiesMilli()) out[name] = fromMilli(milli);
    for (const { name, value } of this.entries) {
      if (value.type === 'RANGES') ranges.set(name, addRanges(ranges.get(name) ?? [], value.ranges));
      if (value.type === 'SET') sets.set(name, addSets(sets.get(name) ?? [], value.items));
    }
    for (const [name, list] of ranges) out[name] = formatRanges(list, ', ');
    for (const [name, items] of sets) out[name] = formatSet(items, ', ');
    return out;
  }

  /** Same resources with allocation_info.role set on each (what offers carry). */
  allocatedTo(role: string): Resources {
    const memo = (this.allocatedMemo ??= []);
    for (const known of memo) if (known.commonRole === role) return known;
    const result = this.withAllocationRole(role);
    if (result !== this) {
      if (memo.length >= (this.shared ? SHARED_MEMO_SLOTS : ALLOCATED_MEMO_SLOTS)) memo.shift();
      result.shared = this.shared;
      memo.push(result);
      if (this.commonRole === undefined) result.unallocatedCache = this;
    }
    return result;
  }

  /** Strips allocation_info. */
  unallocated(): Resources {
    if (this.unallocatedCache !== undefined) return this.unallocatedCache;
    const result = this.withAllocationRole(undefined);
    if (result !== this) this.unallocatedCache = result;
    return result;
  }

  /**
   * The allocation role every entry carries (undefined: none carries one), or null when they
   * differ; an empty value has none. Answers allocations()'s common case without building a Map.
   */
  allocationRole(): string | undefined | null {
    return this.commonRole;
  }

  /** Split by allocation role; resources without allocation_info are under `undefined`. */
  allocations(): Map<string | undefined, Resources> {
    const common = this.commonRole;
    if (common !== null) return this.entries.length === 0 ? new Map() : new Map([[common, this]]);
    const groups = new Map<string | undefined, Entry[]>();
    for (const e of this.entries) {
      const group = groups.get(e.identity.allocationRole);
      if (group === undefined) groups.set(e.identity.allocationRole, [e]);
      else group.push(e);
    }
    // Filtering keeps canonical order, so each group is canonical as is.
    return new Map([...groups].map(([role, list]) => [role, Resources.ofEntries(list)]));
  }

  unreserved(): Resources {
    return this.anyReserved ? this.splitAllocatable('*')[0] : this;
  }

  /** Only those reserved to exactly `role` (the top of their reservation stack). */
  reservedTo(role: string): Resources {
    return this.filter((e) => e.identity.reservedRole === role);
  }

  /** What a framework in `role` may use: unreserved, or reserved to `role` or one of its ancestors. */
  allocatableTo(role: string): Resources {
    return this.anyReserved ? this.splitAllocatable(role)[0] : this;
  }

  /** The rest: what allocatableTo(role) leaves out (reserved to other roles). */
  notAllocatableTo(role: string): Resources {
    return this.anyReserved ? this.splitAllocatable(role)[1] : Resources.EMPTY;
  }

  hasReservations(): boolean {
    return this.anyReserved;
  }

  /** Everything reserved (to any role). */
  reserved(): Resources {
    return this.anyReserved ? this.filter((e) => e.identity.reservedRole !== undefined) : Resources.EMPTY;
  }

  /** The roles resources here are reserved to (the top of each stack), sorted. */
  reservedRoles(): string[] {
    const roles = new Set<string>();
    for (const e of this.entries) if (e.identity.reservedRole !== undefined) roles.add(e.identity.reservedRole);
    return [...roles].sort();
  }

  /**
   * Reserved scalar quantities (thousandths) by the role at the top of each stack. Memoized:
   * the allocator charges an agent's reservations to quota whenever its total changes.
   */
  reservedQuantitiesByRole(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    if (this.reservedByRoleCache === undefined) {
      const byRole = new Map<string, Map<string, number>>();
      for (const e of this.entries) {
        const role = e.identity.reservedRole;
        if (role === undefined || e.value.type !== 'SCALAR') continue;
        let sums = byRole.get(role);
        if (sums === undefined) byRole.set(role, (sums = new Map()));
        sums.set(e.name, (sums.get(e.name) ?? 0) + e.value.milli);
      }
      this.reservedByRoleCache = byRole;
    }
    return this.reservedByRoleCache;
  }

  /** Each resource with the top of its reservation stack removed (UNRESERVE; RESERVE's source). All must be reserved. */
  popReservation(): Resources {
    return canonicalOrAssert(popReservations(this.entries));
  }

  /** Without any dynamic reservation: what the agent's --resources declare (static reservations kept). */
  withoutDynamicReservations(): Resources {
    return this.anyReserved ? canonicalOrAssert(dropDynamicReservations(this.entries)) : this;
  }

  /** Whether some reservation here was refined (a stack deeper than one). */
  hasRefinedReservations(): boolean {
    return this.anyRefined;
  }

  /** Without refined reservations: what a framework without RESERVATION_REFINEMENT may be offered. */
  withoutRefinedReservations(): Resources {
    return this.hasRefinedReservations() ? this.filter((e) => e.identity.reservations.length <= 1) : this;
  }

  /** Unreserved, non-revocable scalars: what quota counts, and what limits and headroom cut. */
  quotaScalars(): Resources {
    return (this.quotaSplitCache ??= this.splitQuota())[0];
  }

  /** The rest: reserved, revocable and non-scalar resources (ports), which quota does not cut. */
  withoutQuotaScalars(): Resources {
    return (this.quotaSplitCache ??= this.splitQuota())[1];
  }

  /**
   * Quota scalars cut so each name sums to at most its cap in thousandths; names without a cap
   * are kept whole ('keep') or dropped ('drop'); the rest is kept. Returns this very value when
   * nothing had to be cut.
   */
  shrinkQuotaScalars(capsMilli: ReadonlyMap<string, number>, uncapped: 'keep' | 'drop'): Resources {
    const shrunk = shrinkQuotaScalars(this.entries, capsMilli, uncapped);
    return shrunk === undefined ? this : Resources.ofEntries(shrunk);
  }

  /**
   * shrinkQuotaScalars with the caps as thousandths by slot, `slotOf(name)` giving a name's slot;
   * names whose slot is past the end of `capsMilli` are capped at `beyond` (Infinity keeps them,
   * 0 drops them). For the allocator, which keeps caps in typed arrays. Returns this very value
   * when nothing had to be cut.
   */
  shrinkQuotaScalarsBySlot(capsMilli: Float64Array, slotOf: (name: string) => number, beyond: number): Resources {
    const shrunk = shrinkQuotaScalarsBySlot(this.entries, capsMilli, slotOf, beyond);
    return shrunk === undefined ? this : Resources.ofEntries(shrunk);
  }

  /** Flag syntax, e.g. "cpus:2;cpus(eng):1;mem:1024;ports:[31000-32000]"; allocation shown as Mesos does. */
  toString(): string {
    return this.entries.map(formatEntry).join(';');
  }

  private withAllocationRole(role: string | undefined): Resources {
    const common = this.commonRole;
    if (common === role) return this;
    // A loop, not map(): no closure per call on the recovery path.
    const moved: Entry[] = [];
    for (const e of this.entries) moved.push(withAllocationRole(e, role));
    // From one role to another, keys change only in their last part: order holds, nothing merges.
    return common !== null && isSorted(moved) ? Resources.ofEntries(moved) : canonicalOrAssert(moved);
  }

  /** Both halves at once, remembered per role: the allocator asks this of the same value every cycle. */
  /**
   * Whether a role may use anything here: something unreserved, or reserved to it or an
   * ancestor. Loops without allocating: the allocator asks it for every (agent, role).
   */
  usableBy(role: string): boolean {
    return this.anyUnreserved || this.reservedFor(role);
  }

  private reservedFor(role: string): boolean {
    if (!this.anyReserved) return false;
    for (const e of this.entries) {
      const reserved = e.identity.reservedRole;
      if (reserved !== undefined && (reserved === role || isAncestorRole(reserved, role))) return true;
    }
    return false;
  }

  private splitAllocatable(role: string): readonly [Resources, Resources] {
    let split = this.allocatableCache?.get(role);
    if (split !== undefined) return split;
    const servesRole = (reserved: string | undefined): boolean =>
      reserved !== undefined && (reserved === role || isAncestorRole(reserved, role));
    if (!this.reservedFor(role)) {
      return (this.unreservedSplit ??= [
        this.filter((e) => e.identity.reservedRole === undefined),
        this.filter((e) => e.identity.reservedRole !== undefined),
      ]);
    }
    const usable = (e: Entry): boolean => e.identity.reservedRole === undefined || servesRole(e.identity.reservedRole);
    split = [this.filter(usable), this.filter((e) => !usable(e))];
    (this.allocatableCache ??= new Map()).set(role, split);
    return split;
  }

  private splitQuota(): readonly [Resources, Resources] {
    return [this.filter(isQuotaScalar), this.filter((e) => !isQuotaScalar(e))];
  }

  private filter(keep: (e: Entry) => boolean): Resources {
    const kept = this.entries.filter(keep);
    if (kept.length === this.entries.length) return this;
    const part = Resources.ofEntries(kept);
    // Parts of a shared value are memoized on it, so they are shared too (EMPTY stays as it is).
    if (this.shared && part !== Resources.EMPTY) part.shared = true;
    return part;
  }

  /**
   * A text that equal values, and only they, share: entry keys (name, reservations, disk,
   * provider, flags, allocation role) and values. For ResourcesInterner.
   */
  internKey(): string {
    let key = '';
    for (const { key: entryKey, value } of this.entries) {
      key += `${entryKey}\u0003${value.type === 'SCALAR' ? value.milli : value.type === 'RANGES' ? formatRanges(value.ranges) : JSON.stringify(value.items)}\u0004`;
    }
    return key;
  }

  /** Whether the value is interned or a memoized part of one (it comes back again and again). */
  isShared(): boolean {
    return this.shared;
  }

  /**
   * What `owner` noted on this value (noteFor), or undefined. Lets a caller keep a value it
   * derives from shared Resources (the allocator's scalar vectors) beside the other memos; one
   * owner at a time, the last to note wins.
   */
  noteOf(owner: object): unknown {
    return this.noteOwner === owner ? this.note : undefined;
  }

  noteFor(owner: object, note: unknown): void {
    this.noteOwner = owner;
    this.note = note;
  }

  /** @internal For ResourcesInterner: the value is now shared by everyone who interns its equal. */
  markShared(): void {
    if (this !== Resources.EMPTY) this.shared = true;
  }
}

function formatEntry({ name, identity, value }: Entry): string {
  let label = name;
  if (identity.reservedRole !== undefined) label += `(${identity.reservedRole})`;
  if (identity.allocationRole !== undefined) label += `(allocated: ${identity.allocationRole})`;
  if (identity.revocable) label += '{REV}';
  if (identity.shared) label += '<SHARED>';
  switch (value.type) {
    case 'SCALAR':
      return `${label}:${fromMilli(value.milli)}`;
    case 'RANGES':
      return `${label}:${formatRanges(value.ranges)}`;
    case 'SET':
      return `${label}:${formatSet(value.items)}`;
  }
}
