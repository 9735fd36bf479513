/**
 * One entry of a Resources value: a name, an identity (reservations, allocation role, kind) and
 * a value. Converts to and from the Resource wire message; knows nothing of collections.
 */
import { assert, assertNever } from '../base/index.js';
import type { ReservationInfo, Resource } from '../api/index.js';
import { isAncestorRole, validateRole } from './roles.js';
import {
  type Interval,
  addRanges,
  addSets,
  fromMilli,
  normalizeRanges,
  normalizeSet,
  rangesContain,
  rangesEqual,
  setContains,
  setsEqual,
  subtractRanges,
  subtractSets,
  toMilli,
} from './values.js';

export type EntryValue =
  | { readonly type: 'SCALAR'; readonly milli: number }
  | { readonly type: 'RANGES'; readonly ranges: readonly Interval[] }
  | { readonly type: 'SET'; readonly items: readonly string[] };

/** Everything that makes two resources of one name distinct entries rather than one sum. */
export interface Identity {
  /** Post-refinement stack; empty means unreserved. */
  readonly reservations: readonly ReservationInfo[];
  /** The role the resource is reserved to: the top of the stack. */
  readonly reservedRole: string | undefined;
  readonly allocationRole: string | undefined;
  readonly revocable: boolean;
  readonly shared: boolean;
  readonly disk: unknown;
  readonly providerId: string | undefined;
  /** Canonical text of all of the above except allocationRole. */
  readonly kindKey: string;
  /**
   * Identities that differ only in allocation role share one family, so allocatedTo() and
   * unallocated() reuse identities and keys instead of rebuilding them on every offer.
   */
  readonly family: Map<string | undefined, Identity>;
  /** Entry keys by resource name, made once per identity. */
  readonly keys: Map<string, string>;
}

export interface Entry {
  /** Sort and identity key: well-known names first, then unreserved before reserved. */
  readonly key: string;
  readonly name: string;
  readonly identity: Identity;
  readonly value: EntryValue;
}

export type WireFormat = 'post-refinement' | 'pre-refinement';

const NAME_ORDER = ['cpus', 'gpus', 'mem', 'disk', 'ports'];

function nameRank(name: string): number {
  const rank = NAME_ORDER.indexOf(name);
  return rank < 0 ? NAME_ORDER.length : rank;
}

export function makeEntry(name: string, identity: Identity, value: EntryValue): Entry {
  let key = identity.keys.get(name);
  if (key === undefined) {
    key = `${nameRank(name)}\u0001${name}\u0001${identity.kindKey}\u0001${identity.allocationRole ?? ''}`;
    identity.keys.set(name, key);
  }
  return { key, name, identity, value };
}

/** The same entry with another value; built as a literal so every entry keeps one shape. */
export function withValue(entry: Entry, value: EntryValue): Entry {
  return { key: entry.key, name: entry.name, identity: entry.identity, value };
}

function identityWithRole(identity: Identity, role: string | undefined): Identity {
  let other = identity.family.get(role);
  if (other === undefined) {
    other = newIdentity(identity, role, identity.family);
    identity.family.set(role, other);
  }
  return other;
}

export function withAllocationRole(entry: Entry, role: string | undefined): Entry {
  if (entry.identity.allocationRole === role) return entry;
  return makeEntry(entry.name, identityWithRole(entry.identity, role), entry.value);
}

/** JSON with object keys sorted, so equal messages give equal text whatever their field order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Identities are interned by kind: every agent's "cpus reserved to eng" shares one identity
 * (and its family and keys), so the allocator's lookups hit the same few objects instead of one
 * copy per agent. The table is bounded; starting over only costs sharing, never correctness
 * (entries compare by key text).
 */
const interned = new Map<string, Identity>();
const INTERNED_MAX = 10_000;

export function makeIdentity(fields: Omit<Identity, 'kindKey' | 'reservedRole' | 'family' | 'keys'>): Identity {
  const reservedRole = fields.reservations[fields.reservations.length - 1]?.role;
  const reservationKey = fields.reservations.length === 0 ? '' : stableStringify(fields.reservations);
  const flags = `${fields.revocable ? 'R' : ''}${fields.shared ? 'S' : ''}`;
  const disk = fields.disk === undefined ? '' : stableStringify(fields.disk);
  const kindKey = `${reservationKey}\u0002${flags}\u0002${disk}\u0002${fields.providerId ?? ''}`;
  let base = interned.get(kindKey);
  if (base === undefined) {
    base = newIdentity({ ...fields, reservedRole, kindKey }, undefined, new Map());
    base.family.set(undefined, base);
    if (interned.size >= INTERNED_MAX) interned.clear();
    interned.set(kindKey, base);
  }
  return identityWithRole(base, fields.allocationRole);
}

/** The one place identities are built, so they all share one object shape (the cycle reads them a lot). */
function newIdentity(
  from: Omit<Identity, 'family' | 'keys' | 'allocationRole'>,
  allocationRole: string | undefined,
  family: Map<string | undefined, Identity>,
): Identity {
  return {
    reservations: from.reservations,
    reservedRole: from.reservedRole,
    allocationRole,
    revocable: from.revocable,
    shared: from.shared,
    disk: from.disk,
    providerId: from.providerId,
    kindKey: from.kindKey,
    family,
    keys: new Map(),
  };
}

export function isEmptyValue(value: EntryValue): boolean {
  switch (value.type) {
    case 'SCALAR':
      return value.milli === 0;
    case 'RANGES':
      return value.ranges.length === 0;
    case 'SET':
      return value.items.length === 0;
    default:
      return assertNever(value, 'value type');
  }
}

export function addValues(a: EntryValue, b: EntryValue): EntryValue {
  if (a.type === 'SCALAR' && b.type === 'SCALAR') return { type: 'SCALAR', milli: a.milli + b.milli };
  if (a.type === 'RANGES' && b.type === 'RANGES') return { type: 'RANGES', ranges: addRanges(a.ranges, b.ranges) };
  if (a.type === 'SET' && b.type === 'SET') return { type: 'SET', items: addSets(a.items, b.items) };
  assert(false, `cannot add a ${b.type} value to a ${a.type} value`);
}

/** a minus b; the caller has checked containsValue(a, b). */
export function subtractValues(a: EntryValue, b: EntryValue): EntryValue {
  if (a.type === 'SCALAR' && b.type === 'SCALAR') return { type: 'SCALAR', milli: a.milli - b.milli };
  if (a.type === 'RANGES' && b.type === 'RANGES') return { type: 'RANGES', ranges: subtractRanges(a.ranges, b.ranges) };
  if (a.type === 'SET' && b.type === 'SET') return { type: 'SET', items: subtractSets(a.items, b.items) };
  assert(false, `cannot subtract a ${b.type} value from a ${a.type} value`);
}

export function containsValue(a: EntryValue, b: EntryValue): boolean {
  if (a.type === 'SCALAR' && b.type === 'SCALAR') return a.milli >= b.milli;
  if (a.type === 'RANGES' && b.type === 'RANGES') return rangesContain(a.ranges, b.ranges);
  if (a.type === 'SET' && b.type === 'SET') return setContains(a.items, b.items);
  return false;
}

export function equalValues(a: EntryValue, b: EntryValue): boolean {
  if (a.type === 'SCALAR' && b.type === 'SCALAR') return a.milli === b.milli;
  if (a.type === 'RANGES' && b.type === 'RANGES') return rangesEqual(a.ranges, b.ranges);
  if (a.type === 'SET' && b.type === 'SET') return setsEqual(a.items, b.items);
  return false;
}

function cleanReservation(r: ReservationInfo): ReservationInfo {
  const out: ReservationInfo = {};
  if (r.type !== undefined) out.type = r.type;
  if (r.role !== undefined) out.role = r.role;
  if (r.principal !== undefined) out.principal = r.principal;
  if (r.labels !== undefined) out.labels = r.labels;
  return out;
}

/**
 * The reservation stack of a wire resource in either format. Pre-refinement resources carry
 * `role` (and `reservation` when dynamic); they become a stack of one.
 */
function reservationsOf(r: Resource): ReservationInfo[] {
  if (r.reservations !== undefined && r.reservations.length > 0) return r.reservations.map(cleanReservation);
  if (r.role === undefined || r.role === '*') return [];
  const type = r.reservation === undefined ? 'STATIC' : 'DYNAMIC';
  return [cleanReservation({ ...r.reservation, type, role: r.role })];
}

function validateReservations(stack: readonly ReservationInfo[]): string | undefined {
  for (let i = 0; i < stack.length; i++) {
    const role = stack[i]!.role;
    if (role === undefined) return `reservations[${i}] has no role`;
    if (role === '*') return `reservations[${i}]: resources cannot be reserved to role "*"`;
    const invalid = validateRole(role);
    if (invalid !== undefined) return `reservations[${i}]: ${invalid}`;
    const below = stack[i - 1]?.role;
    if (below !== undefined && !isAncestorRole(below, role)) {
      return `reservations[${i}]: role "${role}" must be a descendant of "${below}" (each refinement narrows the role)`;
    }
    if (i > 0 && stack[i]!.type !== 'DYNAMIC') return `reservations[${i}]: refined reservations must be DYNAMIC`;
  }
  return undefined;
}

function valueOf(r: Resource): EntryValue | string {
  switch (r.type) {
    case 'SCALAR': {
      const v = r.scalar?.value;
      if (v === undefined) return 'type is SCALAR but the "scalar" field is missing';
      if (!Number.isFinite(v)) return `scalar value ${v} is not a finite number`;
      if (v < 0) return `scalar value ${v} must not be negative`;
      if (v * 1000 > Number.MAX_SAFE_INTEGER) return `scalar value ${v} is too large`;
      return { type: 'SCALAR', milli: toMilli(v) };
    }
    case 'RANGES': {
      const list = r.ranges?.range ?? [];
      for (const { begin, end } of list) {
        if (begin < 0 || end < 0 || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) {
          return `range ${begin}-${end} must be non-negative integers`;
        }
        if (begin > end) return `range ${begin}-${end} has begin greater than end`;
      }
      return { type: 'RANGES', ranges: normalizeRanges(list.map((x) => [x.begin, x.end] as const)) };
    }
    case 'SET':
      return { type: 'SET', items: normalizeSet(r.set?.item ?? []) };
    case 'TEXT':
      return 'type TEXT is only for attributes; a resource is SCALAR, RANGES or SET';
    default:
      return assertNever(r.type, 'value type');
  }
}

/** Decodes and validates one wire resource; the error text does not repeat the resource's name. */
export function entryFromWire(r: Resource): Entry | { error: string } {
  const value = valueOf(r);
  if (typeof value === 'string') return { error: value };
  const reservations = reservationsOf(r);
  const badReservation = validateReservations(reservations);
  if (badReservation !== undefined) return { error: badReservation };
  const allocationRole = r.allocation_info?.role;
  if (allocationRole !== undefined) {
    const invalid = validateRole(allocationRole);
    if (invalid !== undefined) return { error: `allocation_info: ${invalid}` };
  }
  const identity = makeIdentity({
    reservations,
    allocationRole,
    revocable: r.revocable !== undefined,
    shared: r.shared !== undefined,
    disk: r.disk,
    providerId: r.provider_id?.value,
  });
  return makeEntry(r.name, identity, value);
}

/**
 * Post-refinement (the default) carries only `reservations`, as agents and frameworks with
 * RESERVATION_REFINEMENT expect. Pre-refinement adds `role` ("*" when unreserved) and the
 * deprecated `reservation` of a single dynamic reservation, for frameworks without it.
 */
export function entryToWire(entry: Entry, format: WireFormat = 'post-refinement'): Resource {
  const { identity, value } = entry;
  const out: Resource = { name: entry.name, type: value.type };
  if (identity.providerId !== undefined) out.provider_id = { value: identity.providerId };
  switch (value.type) {
    case 'SCALAR':
      out.scalar = { value: fromMilli(value.milli) };
      break;
    case 'RANGES':
      out.ranges = { range: value.ranges.map(([begin, end]) => ({ begin, end })) };
      break;
    case 'SET':
      out.set = { item: [...value.items] };
      break;
    default:
      assertNever(value, 'value type');
  }
  if (format === 'pre-refinement') {
    out.role = identity.reservedRole ?? '*';
    const only = identity.reservations.length === 1 ? identity.reservations[0] : undefined;
    if (only?.type === 'DYNAMIC') {
      out.reservation = {};
      if (only.principal !== undefined) out.reservation.principal = only.principal;
      if (only.labels !== undefined) out.reservation.labels = only.labels;
    }
  }
  // A refined stack cannot be said in the old format, so it is carried in both.
  if (identity.reservations.length > (format === 'pre-refinement' ? 1 : 0)) {
    out.reservations = identity.reservations.map((r) => ({ ...r }));
  }
  if (identity.allocationRole !== undefined) out.allocation_info = { role: identity.allocationRole };
  if (identity.disk !== undefined) out.disk = identity.disk;
  if (identity.revocable) out.revocable = {};
  if (identity.shared) out.shared = {};
  return out;
}
