/**
 * Entry-level reservation edits (facts 6.2): popping the top of a reservation stack, dropping
 * every dynamic reservation, and shrinking unreserved scalars to quantities. Resources wraps these.
 */
import { assert } from '../base/index.js';
import { type Entry, type Identity, makeEntry, makeIdentity, withValue } from './entry.js';

function identityWithStack(identity: Identity, reservations: Identity['reservations']): Identity {
  return makeIdentity({
    reservations,
    allocationRole: identity.allocationRole,
    revocable: identity.revocable,
    shared: identity.shared,
    disk: identity.disk,
    providerId: identity.providerId,
  });
}

/** Each entry with the top of its reservation stack removed; unreserved entries are a bug here. */
export function popReservations(entries: readonly Entry[]): Entry[] {
  return entries.map((e) => {
    const stack = e.identity.reservations;
    assert(stack.length > 0, `popReservation: ${e.name} is not reserved`);
    return makeEntry(e.name, identityWithStack(e.identity, stack.slice(0, -1)), e.value);
  });
}

/** Each entry with its DYNAMIC reservations removed: what the agent's flags alone declare. */
export function dropDynamicReservations(entries: readonly Entry[]): Entry[] {
  return entries.map((e) => {
    const stack = e.identity.reservations;
    if (!stack.some((r) => r.type === 'DYNAMIC')) return e;
    return makeEntry(e.name, identityWithStack(e.identity, stack.filter((r) => r.type !== 'DYNAMIC')), e.value);
  });
}

/** An unreserved, non-revocable scalar: what quota counts and limits may cut. */
export function isQuotaScalar(e: Entry): boolean {
  return e.value.type === 'SCALAR' && e.identity.reservedRole === undefined && !e.identity.revocable;
}

/**
 * Cuts quota scalars down so each name sums to at most its cap (thousandths); a name without a
 * cap is kept whole (`uncapped: 'keep'`) or cut to nothing ('drop'). Other entries are kept as
 * they are. A disk with DiskInfo (a volume, a MOUNT disk) cannot be split: kept whole or dropped.
 */
export function shrinkQuotaScalars(
  entries: readonly Entry[],
  capsMilli: ReadonlyMap<string, number>,
  uncapped: 'keep' | 'drop',
): Entry[] | undefined {
  let left: Map<string, number> | undefined;
  let changed = false;
  const out: Entry[] = [];
  for (const e of entries) {
    if (!isQuotaScalar(e) || e.value.type !== 'SCALAR') {
      out.push(e);
      continue;
    }
    left ??= new Map(capsMilli);
    const capped = left.get(e.name);
    if (capped === undefined && uncapped === 'keep') {
      out.push(e);
      continue;
    }
    const cap = Math.max(0, capped ?? 0);
    const milli = e.value.milli;
    if (milli <= cap) {
      out.push(e);
      left.set(e.name, cap - milli);
      continue;
    }
    changed = true;
    if (cap > 0 && e.identity.disk === undefined) {
      out.push(withValue(e, { type: 'SCALAR', milli: cap }));
      left.set(e.name, 0);
    }
  }
  return changed ? out : undefined;
}

/**
 * shrinkQuotaScalars with caps by slot (see Resources.shrinkQuotaScalarsBySlot): the same cut,
 * entry by entry in canonical order, with the budget left per name kept in a scratch array.
 */
export function shrinkQuotaScalarsBySlot(
  entries: readonly Entry[],
  capsMilli: Float64Array,
  slotOf: (name: string) => number,
  beyond: number,
): Entry[] | undefined {
  let out: Entry[] | undefined;
  let left: Float64Array | undefined;
  const slots = capsMilli.length;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (!isQuotaScalar(e) || e.value.type !== 'SCALAR') {
      out?.push(e);
      continue;
    }
    left ??= budgets(capsMilli);
    const slot = slotOf(e.name);
    const cap = Math.max(0, slot < slots ? left[slot]! : beyond);
    const milli = e.value.milli;
    if (milli <= cap) {
      out?.push(e);
      if (slot < slots) left[slot] = cap - milli;
      continue;
    }
    // The first cut: only now is a new list worth building.
    out ??= entries.slice(0, i);
    if (cap > 0 && e.identity.disk === undefined) {
      out.push(withValue(e, { type: 'SCALAR', milli: cap }));
      if (slot < slots) left[slot] = 0;
    }
  }
  return out;
}

/** One scratch array for the budgets (the first caps.length slots): no garbage per offer. */
let scratch = new Float64Array(16);

function budgets(caps: Float64Array): Float64Array {
  if (scratch.length < caps.length) scratch = new Float64Array(caps.length * 2);
  scratch.set(caps);
  return scratch;
}
