/**
 * The allocator's records of frameworks and agents, shared by its event methods (allocator.ts)
 * and its allocation pass (hierarchical.ts). Plain data; the master owns the real records.
 */
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
