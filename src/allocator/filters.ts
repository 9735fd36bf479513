/**
 * Refuse filters (facts 6.4): after a decline with refuse_seconds, a (framework, role, agent)
 * is not offered resources contained in what it refused until the filter expires. Pure data.
 */
import { assert } from '../base/index.js';
import type { Resources } from '../resources/index.js';
import { MinHeap } from './heap.js';

/** Mesos caps refuse_seconds at 365 days. */
export const MAX_REFUSE_SECONDS = 31_536_000;

export interface RefuseFilter {
  readonly frameworkId: string;
  readonly role: string;
  readonly agentId: string;
  /** Unallocated form, comparable with an agent's available resources. */
  readonly resources: Resources;
  readonly expiresAtMs: number;
}

interface Installed extends RefuseFilter {
  readonly frameworkIndex: number;
  readonly roleIndex: number;
  removed: boolean;
}

/** One number per (framework, role) pair; numbers stay below 2^21 (a Numbering reuses freed ones). */
const ROLE_NUMBERS = 0x200000;

/** The key isFilteredAt looks for: framework and role numbers in one double. */
export function filterKey(frameworkIndex: number, roleIndex: number): number {
  return frameworkIndex * ROLE_NUMBERS + roleIndex;
}

/**
 * The filters on one agent as parallel arrays, one slot per filter. The cycle checks them for
 * every framework it tries on the agent: one packed array of numbers (framework and role in
 * one key) touches a few cache lines where a map of filter objects would touch one per filter,
 * and with 10,000 agents that is what costs. Frameworks and roles are numbered by RefuseFilters
 * while they have filters.
 */
export class AgentFilters {
  readonly keys: number[] = [];
  readonly expiresAtMs: number[] = [];
  readonly resources: Resources[] = [];
  readonly installed: Installed[] = [];

  get size(): number {
    return this.installed.length;
  }

  /**
   * Bit (number mod 32) of each framework and each role with a filter here: most frameworks tried
   * on an agent have none on it, and two bits on this object say so without reading the arrays.
   */
  frameworkBits = 0;
  roleBits = 0;

  add(f: Installed): void {
    this.frameworkBits |= bit(f.frameworkIndex);
    this.roleBits |= bit(f.roleIndex);
    this.keys.push(filterKey(f.frameworkIndex, f.roleIndex));
    this.expiresAtMs.push(f.expiresAtMs);
    this.resources.push(f.resources);
    this.installed.push(f);
  }

  /** Swaps the last slot into the removed one: order does not matter. */
  remove(f: Installed): void {
    const i = this.installed.indexOf(f);
    assert(i >= 0, 'refuse filter: removing a filter that is not on its agent');
    swapOut(this.keys, i);
    swapOut(this.expiresAtMs, i);
    swapOut(this.resources, i);
    swapOut(this.installed, i);
    this.frameworkBits = 0;
    this.roleBits = 0;
    for (const left of this.installed) {
      this.frameworkBits |= bit(left.frameworkIndex);
      this.roleBits |= bit(left.roleIndex);
    }
  }
}

function bit(index: number): number {
  return 1 << (index & 31);
}

function swapOut<T>(list: T[], i: number): void {
  list[i] = list[list.length - 1]!;
  list.pop();
}

/**
 * Filtered when some unexpired filter of (framework, role) contains everything that would be
 * offered. Numbers from RefuseFilters.frameworkIndex and roleIndex (-1: it has no filters).
 */
export function isFilteredAt(onAgent: AgentFilters, frameworkIndex: number, roleIndex: number, offerable: Resources, nowMs: number): boolean {
  if (frameworkIndex < 0 || roleIndex < 0) return false;
  if ((onAgent.frameworkBits & bit(frameworkIndex)) === 0 || (onAgent.roleBits & bit(roleIndex)) === 0) return false;
  const key = filterKey(frameworkIndex, roleIndex);
  const keys = onAgent.keys;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== key || onAgent.expiresAtMs[i]! <= nowMs) continue;
    // The same value comes back offer after offer (Resources memoize), so identity decides most checks.
    const declined = onAgent.resources[i]!;
    if (declined === offerable || declined.contains(offerable)) return true;
  }
  return false;
}

/** Small integers for strings while some filter uses them, reused once none does. */
class Numbering {
  private readonly numbers = new Map<string, { n: number; uses: number }>();
  private readonly freed: number[] = [];

  of(key: string): number {
    return this.numbers.get(key)?.n ?? -1;
  }

  use(key: string): number {
    let entry = this.numbers.get(key);
    if (entry === undefined) {
      entry = { n: this.freed.pop() ?? this.numbers.size, uses: 0 };
      assert(entry.n < ROLE_NUMBERS, `refuse filters: more than ${ROLE_NUMBERS} frameworks or roles with filters`);
      this.numbers.set(key, entry);
    }
    entry.uses++;
    return entry.n;
  }

  release(key: string): void {
    const entry = this.numbers.get(key)!;
    if (--entry.uses > 0) return;
    this.numbers.delete(key);
    this.freed.push(entry.n);
  }
}

export class RefuseFilters {
  /** The cycle looks filters up by agent, once per agent. */
  private readonly byAgent = new Map<string, AgentFilters>();
  private readonly byFramework = new Map<string, Set<Installed>>();
  private readonly expiries = new MinHeap<Installed>((a, b) => a.expiresAtMs < b.expiresAtMs);
  private readonly countByRole = new Map<string, number>();
  private readonly frameworkNumbers = new Numbering();
  private readonly roleNumbers = new Numbering();

  add(filter: RefuseFilter): void {
    assert(Number.isFinite(filter.expiresAtMs), `refuse filter expiry must be finite, got ${filter.expiresAtMs}`);
    // Fields written out, not spread: one object shape, and a filter is installed per decline.
    const installed: Installed = {
      frameworkId: filter.frameworkId,
      role: filter.role,
      agentId: filter.agentId,
      resources: filter.resources,
      expiresAtMs: filter.expiresAtMs,
      frameworkIndex: this.frameworkNumbers.use(filter.frameworkId),
      roleIndex: this.roleNumbers.use(filter.role),
      removed: false,
    };
    let onAgent = this.byAgent.get(filter.agentId);
    if (onAgent === undefined) this.byAgent.set(filter.agentId, (onAgent = new AgentFilters()));
    onAgent.add(installed);
    let mine = this.byFramework.get(filter.frameworkId);
    if (mine === undefined) this.byFramework.set(filter.frameworkId, (mine = new Set()));
    mine.add(installed);
    this.expiries.push(installed);
    this.countByRole.set(filter.role, (this.countByRole.get(filter.role) ?? 0) + 1);
  }

  /** The agent's filters by framework, or undefined: the cycle fetches this once per agent. */
  onAgent(agentId: string): AgentFilters | undefined {
    return this.byAgent.get(agentId);
  }

  /** The framework's number for isFilteredAt, or -1 when it has no filters. */
  frameworkIndex(frameworkId: string): number {
    return this.frameworkNumbers.of(frameworkId);
  }

  /** The role's number for isFilteredAt, or -1 when it has no filters. */
  roleIndex(role: string): number {
    return this.roleNumbers.of(role);
  }

  isFiltered(frameworkId: string, role: string, agentId: string, offerable: Resources, nowMs: number): boolean {
    const onAgent = this.byAgent.get(agentId);
    return onAgent !== undefined && isFilteredAt(onAgent, this.frameworkIndex(frameworkId), this.roleIndex(role), offerable, nowMs);
  }

  /** Drops the framework's filters, for the given roles or all; REVIVE and deactivation do this. */
  clear(frameworkId: string, roles?: ReadonlySet<string>): void {
    const mine = this.byFramework.get(frameworkId);
    if (mine === undefined) return;
    for (const f of [...mine]) {
      if (roles === undefined || roles.has(f.role)) this.remove(f);
    }
  }

  removeAgent(agentId: string): void {
    const onAgent = this.byAgent.get(agentId);
    if (onAgent === undefined) return;
    for (const f of [...onAgent.installed]) this.remove(f);
  }

  /** Removes filters expired at nowMs and returns the agents they were on. */
  expire(nowMs: number): Set<string> {
    const agents = new Set<string>();
    for (let top = this.expiries.peek(); top !== undefined && top.expiresAtMs <= nowMs; top = this.expiries.peek()) {
      this.expiries.pop();
      if (top.removed) continue;
      this.remove(top);
      agents.add(top.agentId);
    }
    return agents;
  }

  /** When the next filter expires (a new allocation may follow), or undefined. */
  nextExpiryMs(): number | undefined {
    for (let top = this.expiries.peek(); top !== undefined; top = this.expiries.peek()) {
      if (!top.removed) return top.expiresAtMs;
      this.expiries.pop();
    }
    return undefined;
  }

  /** Installed filters (expired ones count until expire() runs), per role or in all. */
  count(role?: string): number {
    if (role !== undefined) return this.countByRole.get(role) ?? 0;
    let sum = 0;
    for (const n of this.countByRole.values()) sum += n;
    return sum;
  }

  private remove(f: Installed): void {
    if (f.removed) return;
    f.removed = true;
    const onAgent = this.byAgent.get(f.agentId)!;
    onAgent.remove(f);
    if (onAgent.size === 0) this.byAgent.delete(f.agentId);
    const mine = this.byFramework.get(f.frameworkId)!;
    mine.delete(f);
    if (mine.size === 0) this.byFramework.delete(f.frameworkId);
    this.frameworkNumbers.release(f.frameworkId);
    this.roleNumbers.release(f.role);
    const left = this.countByRole.get(f.role)! - 1;
    if (left === 0) this.countByRole.delete(f.role);
    else this.countByRole.set(f.role, left);
  }
}
