/**
 * The allocator's records of frameworks and agents, shared by its event methods (allocator.ts)
 * and its allocation pass (hierarchical.ts). Plain data; the master owns the real records.
 */
import { BugIndicatingError } from '../base/index.js';
import type { Resources } from '../resources/index.js';

/** One offer's worth: one agent, one role, one framework. */
export interface Allocation {
  frameworkId: string;
  agentId: string;
  role: string;
  /** Carries allocation_info.role (Resources.allocatedTo(role)). */
  resources: Resources;
}

export interface FrameworkState {
  readonly id: string;
  roles: Set<string>;
  suppressed: Set<string>;
  active: boolean;
  /** RESERVATION_REFINEMENT: may be offered refined reservations (stacks deeper than one). */
  reservationRefinement: boolean;
}

export interface AgentState {
  readonly id: string;
  readonly hostname: string;
  /** Changes only with reservations (RESERVE, UNRESERVE) and re-registration. */
  total: Resources;
  /** total minus everything allocated, without allocation_info. */
  available: Resources;
  /**
   * Per framework, including frameworks removed before their resources were recovered. The one
   * record of who holds what: the sorters keep only the sums that shares are made of.
   */
  readonly allocated: Map<string, Resources>;
  active: boolean;
}

/**
 * Gives resources without allocation_info the framework's one role on that agent (from what it
 * `held` there), or else its one role at all (`roles`); more than one is ambiguous: a bug.
 */
export function withAllocationRoles(
  resources: Resources,
  held: Resources | undefined,
  roles: Iterable<string>,
  frameworkId: string,
  agentId: string,
): Resources {
  // All in one role (an offer given back as it was): nothing to assign, no Map of parts to build.
  if (typeof resources.allocationRole() === 'string') return resources;
  const bare = resources.allocations().get(undefined);
  if (bare === undefined) return resources;
  const candidates = new Set<string>();
  for (const role of held?.allocations().keys() ?? []) if (role !== undefined) candidates.add(role);
  if (candidates.size === 0) for (const role of roles) candidates.add(role);
  if (candidates.size !== 1) {
    const list = [...candidates].join(', ') || 'none';
    throw new BugIndicatingError(`resources ${bare} of framework ${frameworkId} on ${agentId} carry no allocation_info and its role is ambiguous (${list})`);
  }
  return resources.subtract(bare).add(bare.allocatedTo([...candidates][0]!));
}
