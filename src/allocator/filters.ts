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
  removed: boolean;
}

export type AgentFilters = ReadonlyMap<string, readonly RefuseFilter[]>;

/** Filtered when some unexpired filter of (framework, role) contains everything that would be offered. */
export function isFiltered(onAgent: AgentFilters, frameworkId: string, role: string, offerable: Resources, nowMs: number): boolean {
  const list = onAgent.get(frameworkId);
  if (list === undefined) return false;
  for (const f of list) {
    if (f.role === role && f.expiresAtMs > nowMs && f.resources.contains(offerable)) return true;
  }
  return false;
}

export class RefuseFilters {
  /** agent -> framework -> filters (of any role); the cycle looks up by agent, then framework. */
  private readonly byAgent = new Map<string, Map<string, Installed[]>>();
  private readonly byFramework = new Map<string, Set<Installed>>();
  private readonly expiries = new MinHeap<Installed>((a, b) => a.expiresAtMs < b.expiresAtMs);
  private readonly countByRole = new Map<string, number>();

  add(filter: RefuseFilter): void {
    assert(Number.isFinite(filter.expiresAtMs), `refuse filter expiry must be finite, got ${filter.expiresAtMs}`);
    const installed: Installed = { ...filter, removed: false };
    let pairs = this.byAgent.get(filter.agentId);
    if (pairs === undefined) this.byAgent.set(filter.agentId, (pairs = new Map()));
    const list = pairs.get(filter.frameworkId);
    if (list === undefined) pairs.set(filter.frameworkId, [installed]);
    else list.push(installed);
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

  isFiltered(frameworkId: string, role: string, agentId: string, offerable: Resources, nowMs: number): boolean {
    const onAgent = this.byAgent.get(agentId);
    return onAgent !== undefined && isFiltered(onAgent, frameworkId, role, offerable, nowMs);
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
    const pairs = this.byAgent.get(agentId);
    if (pairs === undefined) return;
    for (const list of [...pairs.values()]) for (const f of [...list]) this.remove(f);
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
    const pairs = this.byAgent.get(f.agentId)!;
    const list = pairs.get(f.frameworkId)!;
    list.splice(list.indexOf(f), 1);
    if (list.length === 0) pairs.delete(f.frameworkId);
    if (pairs.size === 0) this.byAgent.delete(f.agentId);
    const mine = this.byFramework.get(f.frameworkId)!;
    mine.delete(f);
    if (mine.size === 0) this.byFramework.delete(f.frameworkId);
    const left = this.countByRole.get(f.role)! - 1;
    if (left === 0) this.countByRole.delete(f.role);
    else this.countByRole.set(f.role, left);
  }
}
