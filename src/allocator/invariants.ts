/**
 * The allocator's invariants, recomputed from its agents' records: what the sorters and the
 * quota book say must be what the agents hold. O(agents): for tests and the simulator.
 */
import { BugIndicatingError, assert } from '../base/index.js';
import type { Resources } from '../resources/index.js';
import { QuotaBook, type QuotaSpec } from './quota.js';
import { type Shares, addQuantities } from './shares.js';
import type { AgentState, FrameworkState } from './state.js';

export interface AllocatorBooks {
  agents: ReadonlyMap<string, AgentState>;
  frameworks: ReadonlyMap<string, FrameworkState>;
  shares: Shares;
  quota: QuotaBook;
}

export function checkAllocatorInvariants({ agents, frameworks, shares, quota }: AllocatorBooks): void {
  quota.checkInvariants();
  // Quota consumption recomputed from the agents' records: reservations plus unreserved allocation.
  const fresh = new QuotaBook();
  for (const role of quota.roles()) fresh.set(role, mapsToSpec(quota.get(role)));
  for (const agent of agents.values()) {
    fresh.chargeAgent(agent.total, 1);
    for (const held of agent.allocated.values()) {
      for (const [role, part] of held.allocations()) fresh.chargeAllocation(role!, part, 1);
    }
  }
  for (const role of new Set([...shares.roleSorter.roles(), ...quota.roles()])) {
    const want = JSON.stringify([...fresh.consumedBy(role)].sort());
    const have = JSON.stringify([...quota.consumedBy(role)].sort());
    assert(want === have, `quota: ${role} consumes ${have} by the books, ${want} by the agents`);
  }
  assert(
    fresh.hasUnsatisfiedGuarantees() === quota.hasUnsatisfiedGuarantees(),
    'quota: the required headroom disagrees with the agents',
  );
  for (const agent of agents.values()) {
    let sum = agent.available;
    for (const held of agent.allocated.values()) sum = sum.add(held.unallocated());
    if (!sum.equals(agent.total)) throw new BugIndicatingError(`agent ${agent.id}: available + allocated = ${sum}, total = ${agent.total}`);
  }
  // The sorters' sums are what the agents' records say each framework holds in each role.
  const expected = new Map<string, Map<string, number>>();
  for (const agent of agents.values()) {
    for (const [frameworkId, held] of agent.allocated) {
      if (!frameworks.has(frameworkId)) continue;
      for (const [role, part] of held.allocations()) {
        const key = `${frameworkId} in ${role}`;
        if (!expected.has(key)) expected.set(key, new Map());
        addQuantities(expected.get(key)!, part.scalarQuantitiesMilli(), 1);
      }
    }
  }
  for (const fw of frameworks.values()) {
    for (const role of shares.rolesOf(fw.id)) {
      const want = expected.get(`${fw.id} in ${role}`) ?? new Map<string, number>();
      const have = shares.allocation(fw.id, role);
      const same = want.size === have.size && [...want].every(([name, milli]) => have.get(name) === milli);
      assert(same, `framework ${fw.id} in ${role}: sorter counts ${JSON.stringify([...have])}, agents hold ${JSON.stringify([...want])}`);
    }
  }
}

function mapsToSpec(quota: { guarantees: Map<string, number>; limits: Map<string, number> }): QuotaSpec {
  return { guarantees: Object.fromEntries(quota.guarantees), limits: Object.fromEntries(quota.limits) };
}

/** Conversions (reserve, unreserve) change how resources are held, never how much. */
export function assertSameQuantities(from: Resources, to: Resources, event: string): void {
  const a = from.scalarQuantitiesMilli();
  const b = to.scalarQuantitiesMilli();
  const same = a.size === b.size && [...a].every(([name, milli]) => b.get(name) === milli);
  if (!same || !from.unallocated().withoutDynamicReservations().equals(to.unallocated().withoutDynamicReservations())) {
    throw new BugIndicatingError(`${event}: ${from} and ${to} are not the same resources`);
  }
}
