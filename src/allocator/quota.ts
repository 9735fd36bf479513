/**
 * Quota (facts 6.4, Mesos 1.9+): per top-level role, guarantees and limits over scalar
 * quantities. Keeps what each top-level role consumes (its subtree's reservations plus its
 * unreserved allocation), the headroom unsatisfied guarantees need, and what is free for it.
 */
import { assert } from '../base/index.js';
import { DEFAULT_ROLE, type Resources } from '../resources/index.js';
import { type Milli, type Quantities, ScalarSlots, addMilli, grown, isZero, milliAt, negativeSlot } from './scalars.js';

/** Natural units (cpus, MB), as operators write them: {cpus: 4, mem: 4096}. */
export interface QuotaSpec {
  guarantees?: Readonly<Record<string, number>>;
  limits?: Readonly<Record<string, number>>;
}

interface Quota {
  /** As set, in thousandths by name: what views show. */
  readonly guaranteesByName: ReadonlyMap<string, number>;
  readonly limitsByName: ReadonlyMap<string, number>;
  /** By slot: 0 where nothing is guaranteed (a guarantee of 0 is none). */
  readonly guarantees: Milli;
  /** By slot: Infinity where there is no limit (slots past the end have none either). */
  readonly limits: Milli;
  readonly hasGuarantees: boolean;
  readonly hasLimits: boolean;
}

const topLevelRoles = new Map<string, string>();

/** "eng/web/prod" -> "eng": quota is set on top-level roles, and counts everything below them. */
export function topLevelRole(role: string): string {
  const slash = role.indexOf('/');
  if (slash < 0) return role;
  // Remembered: the cycle asks for every (agent, role), and slicing would make garbage each time.
  let top = topLevelRoles.get(role);
  if (top === undefined) {
    if (topLevelRoles.size > 100_000) topLevelRoles.clear();
    topLevelRoles.set(role, (top = role.slice(0, slash)));
  }
  return top;
}

function toMilliMap(record: Readonly<Record<string, number>> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(record ?? {})) {
    assert(Number.isFinite(value) && value >= 0, `quota: ${name} must be a non-negative number, got ${value}`);
    out.set(name, Math.round(value * 1000));
  }
  return out;
}

export class QuotaBook {
  private readonly quotas = new Map<string, Quota>();
  /** Per top-level role: reservations in its subtree plus its subtree's unreserved allocation. */
  private readonly consumed = new Map<string, Milli>();
  /** Sum over roles of (guarantee - consumed), where positive: what must stay free for them. */
  private required: Milli;
  /** Slots of `required` above 0: stage 1 has work while there are any. */
  private requiredSlots = 0;
  /** Unreserved, non-revocable scalars not allocated, over all agents. */
  private free: Milli;
  // Scratch vectors handed out by unsatisfied() and caps(): valid until the next call of each.
  private unsatisfiedScratch: Milli;
  private capsScratch: Milli;

  constructor(private readonly slots: ScalarSlots = new ScalarSlots()) {
    this.required = slots.zeros();
    this.free = slots.zeros();
    this.unsatisfiedScratch = slots.zeros();
    this.capsScratch = slots.zeros();
  }

  /** Sets (or, with empty guarantees and limits, resets) the quota of a top-level role. */
  set(role: string, spec: QuotaSpec): void {
    assert(role !== DEFAULT_ROLE && !role.includes('/'), `quota: only top-level roles have quota, not "${role}"`);
    const guaranteesByName = toMilliMap(spec.guarantees);
    const limitsByName = toMilliMap(spec.limits);
    const before = this.quotas.has(role) ? this.unsatisfied(role).slice() : undefined;
    if (guaranteesByName.size === 0 && limitsByName.size === 0) {
      this.quotas.delete(role);
    } else {
      for (const name of [...guaranteesByName.keys(), ...limitsByName.keys()]) this.slots.slotOf(name);
      const guarantees = this.slots.zeros();
      const limits = this.slots.zeros().fill(Infinity);
      for (const [name, milli] of guaranteesByName) guarantees[this.slots.slotOf(name)] = milli;
      for (const [name, milli] of limitsByName) limits[this.slots.slotOf(name)] = milli;
      const hasGuarantees = !isZero(guarantees);
      this.quotas.set(role, { guaranteesByName, limitsByName, guarantees, limits, hasGuarantees, hasLimits: limitsByName.size > 0 });
    }
    if (before !== undefined) this.addRequired(before, -1);
    if (this.quotas.has(role)) this.addRequired(this.unsatisfied(role), 1);
  }

  /** Guarantees and limits in natural units; empty when the role has the default (no) quota. */
  get(role: string): { guarantees: Map<string, number>; limits: Map<string, number> } {
    const quota = this.quotas.get(role);
    const natural = (m: ReadonlyMap<string, number> | undefined) => new Map([...(m ?? [])].map(([n, v]) => [n, v / 1000]));
    return { guarantees: natural(quota?.guaranteesByName), limits: natural(quota?.limitsByName) };
  }

  roles(): string[] {
    return [...this.quotas.keys()];
  }

  /** An agent's total joins (1) or leaves (-1): its reservations are consumed, its unreserved part is free. */
  chargeAgent(total: Resources, sign: 1 | -1): void {
    for (const [role, quantities] of total.reservedQuantitiesByRole()) this.consume(topLevelRole(role), this.slots.fromMap(quantities), sign);
    this.free = addMilli(this.free, this.slots.of(total, true), sign);
  }

  /** Resources allocated to (1) or recovered from (-1) `role`; only their unreserved part counts. */
  chargeAllocation(role: string, resources: Resources, sign: 1 | -1): void {
    const quantities = this.slots.of(resources, true);
    if (isZero(quantities)) return;
    this.consume(topLevelRole(role), quantities, sign);
    this.free = addMilli(this.free, quantities, -sign);
  }

  /** What the role's top-level role consumes, in thousandths. */
  consumedBy(role: string): Quantities {
    const consumed = this.consumed.get(topLevelRole(role));
    return consumed === undefined ? new Map() : this.slots.toMap(consumed);
  }

  /** Whether some role has an unsatisfied guarantee (stage 1 of a cycle has work). */
  hasUnsatisfiedGuarantees(): boolean {
    return this.requiredSlots > 0;
  }

  /** Whether the top-level role of `role` is short of some guarantee (without building anything). */
  isShort(role: string): boolean {
    if (this.requiredSlots === 0) return false;
    const top = topLevelRole(role);
    const quota = this.quotas.get(top);
    if (quota === undefined || !quota.hasGuarantees) return false;
    const consumed = this.consumed.get(top);
    const g = quota.guarantees;
    for (let i = 0; i < g.length; i++) if (g[i]! > (consumed === undefined ? 0 : milliAt(consumed, i))) return true;
    return false;
  }

  /**
   * What the top-level role of `role` is still guaranteed, in thousandths by slot (0 where it
   * is satisfied). A scratch vector: valid until the next call.
   */
  unsatisfied(role: string): Milli {
    const out = this.scratch('unsatisfiedScratch');
    const quota = this.quotas.get(topLevelRole(role));
    if (quota === undefined) return out;
    const consumed = this.consumed.get(topLevelRole(role));
    const g = quota.guarantees;
    for (let i = 0; i < g.length; i++) {
      const left = g[i]! - (consumed === undefined ? 0 : milliAt(consumed, i));
      if (left > 0) out[i] = left;
    }
    return out;
  }

  /** Whether allocations to `role` may be cut (by a limit above it, or to keep headroom). */
  constrains(role: string): boolean {
    return this.requiredSlots > 0 || this.quotas.get(topLevelRole(role))?.hasLimits === true;
  }

  /**
   * Caps (thousandths by slot) on the unreserved scalars `role` may be given now: its top-level
   * role's limits minus what that role consumes, and the free headroom beyond what guarantees
   * need. Infinity where nothing caps. `already` is what this same offer already takes. A
   * scratch vector: valid until the next call.
   */
  caps(role: string, headroom: boolean, already?: Milli): Milli {
    const caps = this.scratch('capsScratch').fill(Infinity);
    const top = topLevelRole(role);
    const quota = this.quotas.get(top);
    if (quota?.hasLimits === true) {
      const consumed = this.consumed.get(top);
      const limits = quota.limits;
      for (let i = 0; i < limits.length; i++) {
        const limit = limits[i]!;
        if (limit === Infinity) continue;
        const cap = limit - (consumed === undefined ? 0 : milliAt(consumed, i)) - (already === undefined ? 0 : milliAt(already, i));
        caps[i] = Math.max(0, Math.min(cap, caps[i]!));
      }
    }
    if (headroom && this.requiredSlots > 0) {
      const required = this.required;
      for (let i = 0; i < required.length; i++) {
        const needed = required[i]!;
        if (needed === 0) continue;
        caps[i] = Math.max(0, Math.min(milliAt(this.free, i) - needed, caps[i]!));
      }
    }
    return caps;
  }

  /** Asserts nothing consumed or free went negative. */
  checkInvariants(): void {
    for (const [role, consumed] of this.consumed) {
      const bad = negativeSlot(consumed);
      assert(bad < 0, `quota: ${role} consumes ${consumed[bad]! / 1000} ${this.slots.name(bad)}`);
    }
    const bad = negativeSlot(this.free);
    assert(bad < 0, `quota: ${this.free[bad]! / 1000} ${this.slots.name(bad)} free`);
    let requiredSlots = 0;
    for (let i = 0; i < this.required.length; i++) if (this.required[i] !== 0) requiredSlots++;
    assert(requiredSlots === this.requiredSlots, `quota: ${requiredSlots} names need headroom, counted ${this.requiredSlots}`);
  }

  private consume(top: string, quantities: Milli, sign: 1 | -1): void {
    let consumed = this.consumed.get(top);
    if (consumed === undefined) this.consumed.set(top, (consumed = this.slots.zeros()));
    const quota = this.quotas.get(top);
    if (quota?.hasGuarantees === true) {
      // The required headroom moves slot by slot, by how much this role's shortfall changes.
      const g = quota.guarantees;
      for (let i = 0; i < g.length; i++) {
        const guarantee = g[i]!;
        if (guarantee === 0) continue;
        const before = milliAt(consumed, i);
        const after = before + sign * milliAt(quantities, i);
        const delta = Math.max(0, guarantee - after) - Math.max(0, guarantee - before);
        if (delta !== 0) this.addRequiredAt(i, delta);
      }
    }
    const grown = addMilli(consumed, quantities, sign);
    if (grown !== consumed) this.consumed.set(top, grown);
  }

  private addRequired(quantities: Milli, sign: 1 | -1): void {
    for (let i = 0; i < quantities.length; i++) if (quantities[i] !== 0) this.addRequiredAt(i, sign * quantities[i]!);
  }

  private addRequiredAt(slot: number, delta: number): void {
    if (slot >= this.required.length) this.required = grown(this.required, this.slots.vectorLength);
    const before = this.required[slot]!;
    const after = before + delta;
    this.required[slot] = after;
    if (before === 0 && after !== 0) this.requiredSlots++;
    else if (before !== 0 && after === 0) this.requiredSlots--;
  }

  /** A scratch vector zeroed and long enough for every slot known now. */
  private scratch(which: 'unsatisfiedScratch' | 'capsScratch'): Milli {
    if (this[which].length < this.slots.vectorLength) this[which] = this.slots.zeros();
    return this[which].fill(0);
  }
}
