/**
 * Quota (facts 6.4, Mesos 1.9+): per top-level role, guarantees and limits over scalar
 * quantities. Keeps what each top-level role consumes (its subtree's reservations plus its
 * unreserved allocation), the headroom unsatisfied guarantees need, and what is free for it.
 */
import { assert } from '../base/index.js';
import { DEFAULT_ROLE, type Resources } from '../resources/index.js';
import type { Quantities } from './sorter.js';

/** Natural units (cpus, MB), as operators write them: {cpus: 4, mem: 4096}. */
export interface QuotaSpec {
  guarantees?: Readonly<Record<string, number>>;
  limits?: Readonly<Record<string, number>>;
}

interface Quota {
  readonly guarantees: ReadonlyMap<string, number>;
  readonly limits: ReadonlyMap<string, number>;
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

function add(into: Map<string, number>, quantities: Quantities, sign: number): void {
  for (const [name, milli] of quantities) {
    const sum = (into.get(name) ?? 0) + sign * milli;
    if (sum === 0) into.delete(name);
    else into.set(name, sum);
  }
}

export class QuotaBook {
  private readonly quotas = new Map<string, Quota>();
  /** Per top-level role: reservations in its subtree plus its subtree's unreserved allocation. */
  private readonly consumed = new Map<string, Map<string, number>>();
  /** Sum over roles of (guarantee - consumed), where positive: what must stay free for them. */
  private readonly required = new Map<string, number>();
  /** Unreserved, non-revocable scalars not allocated, over all agents. */
  private readonly free = new Map<string, number>();

  /** Sets (or, with empty guarantees and limits, resets) the quota of a top-level role. */
  set(role: string, spec: QuotaSpec): void {
    assert(role !== DEFAULT_ROLE && !role.includes('/'), `quota: only top-level roles have quota, not "${role}"`);
    this.adjustRequired(role, () => {
      const guarantees = toMilliMap(spec.guarantees);
      const limits = toMilliMap(spec.limits);
      if (guarantees.size === 0 && limits.size === 0) this.quotas.delete(role);
      else this.quotas.set(role, { guarantees, limits });
    });
  }

  /** Guarantees and limits in natural units; empty when the role has the default (no) quota. */
  get(role: string): { guarantees: Map<string, number>; limits: Map<string, number> } {
    const quota = this.quotas.get(role);
    const natural = (m: ReadonlyMap<string, number> | undefined) => new Map([...(m ?? [])].map(([n, v]) => [n, v / 1000]));
    return { guarantees: natural(quota?.guarantees), limits: natural(quota?.limits) };
  }

  roles(): string[] {
    return [...this.quotas.keys()];
  }

  /** An agent's total joins (1) or leaves (-1): its reservations are consumed, its unreserved part is free. */
  chargeAgent(total: Resources, sign: 1 | -1): void {
    for (const [role, quantities] of total.reservedQuantitiesByRole()) this.consume(topLevelRole(role), quantities, sign);
    add(this.free, total.quotaScalars().scalarQuantitiesMilli(), sign);
  }

  /** Resources allocated to (1) or recovered from (-1) `role`; only their unreserved part counts. */
  chargeAllocation(role: string, resources: Resources, sign: 1 | -1): void {
    const quantities = resources.quotaScalars().scalarQuantitiesMilli();
    if (quantities.size === 0) return;
    this.consume(topLevelRole(role), quantities, sign);
    add(this.free, quantities, -sign);
  }

  /** What the role's top-level role consumes, in thousandths. */
  consumedBy(role: string): Quantities {
    return this.consumed.get(topLevelRole(role)) ?? new Map();
  }

  /** Whether some role has an unsatisfied guarantee (stage 1 of a cycle has work). */
  hasUnsatisfiedGuarantees(): boolean {
    return this.required.size > 0;
  }

  /** Whether the top-level role of `role` is short of some guarantee (without building the map). */
  isShort(role: string): boolean {
    if (this.required.size === 0) return false;
    const top = topLevelRole(role);
    const quota = this.quotas.get(top);
    if (quota === undefined || quota.guarantees.size === 0) return false;
    const consumed = this.consumed.get(top);
    for (const [name, milli] of quota.guarantees) if (milli > (consumed?.get(name) ?? 0)) return true;
    return false;
  }

  /** What the top-level role of `role` is still guaranteed, in thousandths (positive parts only). */
  unsatisfied(role: string): Map<string, number> {
    const top = topLevelRole(role);
    const out = new Map<string, number>();
    const quota = this.quotas.get(top);
    if (quota === undefined) return out;
    const consumed = this.consumed.get(top);
    for (const [name, milli] of quota.guarantees) {
      const left = milli - (consumed?.get(name) ?? 0);
      if (left > 0) out.set(name, left);
    }
    return out;
  }

  /** Whether allocations to `role` may be cut (by a limit above it, or to keep headroom). */
  constrains(role: string): boolean {
    return this.required.size > 0 || (this.quotas.get(topLevelRole(role))?.limits.size ?? 0) > 0;
  }

  /**
   * Caps (thousandths) on the unreserved scalars `role` may be given now: its top-level role's
   * limits minus what that role consumes, and the free headroom beyond what guarantees need.
   * Names without a cap are free to take. `already` is what this same offer already takes.
   */
  caps(role: string, headroom: boolean, already?: Quantities): Map<string, number> {
    const caps = new Map<string, number>();
    const take = (name: string, cap: number) => caps.set(name, Math.max(0, Math.min(cap, caps.get(name) ?? Infinity)));
    const top = topLevelRole(role);
    const limits = this.quotas.get(top)?.limits;
    if (limits !== undefined) {
      const consumed = this.consumed.get(top);
      for (const [name, limit] of limits) take(name, limit - (consumed?.get(name) ?? 0) - (already?.get(name) ?? 0));
    }
    if (headroom) {
      for (const [name, needed] of this.required) take(name, (this.free.get(name) ?? 0) - needed);
    }
    return caps;
  }

  /** Asserts nothing consumed or free went negative. */
  checkInvariants(): void {
    for (const [role, consumed] of this.consumed) {
      for (const [name, milli] of consumed) assert(milli > 0, `quota: ${role} consumes ${milli / 1000} ${name}`);
    }
    for (const [name, milli] of this.free) assert(milli > 0, `quota: ${milli / 1000} ${name} free`);
  }

  private consume(top: string, quantities: Quantities, sign: 1 | -1): void {
    let consumed = this.consumed.get(top);
    if (consumed === undefined) this.consumed.set(top, (consumed = new Map()));
    const guarantees = this.quotas.get(top)?.guarantees;
    // Hot (every allocation): the required headroom moves name by name, without building maps.
    for (const [name, milli] of quantities) {
      const before = consumed.get(name) ?? 0;
      const after = before + sign * milli;
      if (after === 0) consumed.delete(name);
      else consumed.set(name, after);
      const guarantee = guarantees?.get(name);
      if (guarantee === undefined) continue;
      const delta = Math.max(0, guarantee - after) - Math.max(0, guarantee - before);
      if (delta === 0) continue;
      const required = (this.required.get(name) ?? 0) + delta;
      if (required === 0) this.required.delete(name);
      else this.required.set(name, required);
    }
    if (consumed.size === 0) this.consumed.delete(top);
  }

  /** Applies a change to one role's quota or consumption, keeping the required headroom exact. */
  private adjustRequired(top: string, change: () => void): void {
    if (!this.quotas.has(top)) {
      change();
      if (!this.quotas.has(top)) return;
      add(this.required, this.unsatisfied(top), 1);
      return;
    }
    const before = this.unsatisfied(top);
    change();
    add(this.required, before, -1);
    add(this.required, this.unsatisfied(top), 1);
  }
}
