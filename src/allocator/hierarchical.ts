/**
 * One allocation pass (Mesos's HierarchicalDRF, facts 6.4): per agent, roles in hierarchical DRF
 * order, then frameworks within a role by DRF. Stage 1 serves roles with unsatisfied quota
 * guarantees; stage 2 serves every role, holding back the headroom those guarantees still need.
 */
import type { Resources } from '../resources/index.js';
import { type MinAllocatableMilli, meetsMinimum } from './allocatable.js';
import { type RefuseFilters, isFiltered } from './filters.js';
import type { QuotaBook } from './quota.js';
import type { Shares } from './shares.js';
import type { AgentState, Allocation, FrameworkState } from './state.js';

export interface CycleDeps {
  readonly shares: Shares;
  readonly quota: QuotaBook;
  readonly filters: RefuseFilters;
  readonly frameworks: ReadonlyMap<string, FrameworkState>;
  readonly minRules: MinAllocatableMilli;
  /** Records that `resources` (unallocated form, part of the agent's available) go to the framework in `role`. */
  book(agent: AgentState, frameworkId: string, role: string, resources: Resources): Allocation;
}

type Stage = 'guarantees' | 'fair';

/** Runs both stages over `agents` (already in visiting order) and returns the allocations made. */
export function allocateAgents(deps: CycleDeps, agents: readonly AgentState[], nowMs: number): Allocation[] {
  const out: Allocation[] = [];
  if (deps.shares.roleOrder().length === 0) return out;
  for (const agent of agents) {
    if (!deps.quota.hasUnsatisfiedGuarantees()) break;
    allocateAgent(deps, agent, 'guarantees', nowMs, out);
  }
  for (const agent of agents) allocateAgent(deps, agent, 'fair', nowMs, out);
  return out;
}

function allocateAgent(deps: CycleDeps, agent: AgentState, stage: Stage, nowMs: number, out: Allocation[]): void {
  if (!agent.active || agent.available.isEmpty()) return;
  const filters = deps.filters.onAgent(agent.id);
  // A snapshot of the order for this agent, as Mesos sorts once per agent: an allocation
  // re-sorts for the next agent, and a role served here has nothing left here anyway.
  const roles = deps.shares.roleOrder();
  for (const role of roles) {
    if (agent.available.isEmpty()) return;
    // Cheap and allocation-free: once the unreserved part is taken, most roles have nothing here.
    if (!agent.available.usableBy(role)) continue;
    const offer = stage === 'guarantees' ? guaranteedOffer(deps.quota, agent, role) : fairOffer(deps.quota, agent, role);
    if (offer === undefined || !meetsMinimum(offer.scalarQuantitiesMilli(), deps.minRules)) continue;
    for (const frameworkId of deps.shares.frameworkOrder(role)) {
      let resources = offer;
      if (offer.hasRefinedReservations() && !deps.frameworks.get(frameworkId)!.reservationRefinement) {
        resources = offer.withoutRefinedReservations();
        if (resources.isEmpty() || !meetsMinimum(resources.scalarQuantitiesMilli(), deps.minRules)) continue;
      }
      if (filters !== undefined && isFiltered(filters, frameworkId, role, resources, nowMs)) continue;
      out.push(deps.book(agent, frameworkId, role, resources));
      break;
    }
  }
}

/**
 * Stage 1, for a role whose top-level role is still short of its guarantee: the unreserved
 * scalars it is guaranteed, cut to what is missing, plus whatever else its limits and the
 * headroom for other guarantees allow, plus reservations and non-scalars. Nothing when the
 * agent has nothing toward the guarantee (reservations alone wait for stage 2).
 */
function guaranteedOffer(quota: QuotaBook, agent: AgentState, role: string): Resources | undefined {
  if (!quota.isShort(role)) return undefined;
  const unsatisfied = quota.unsatisfied(role);
  const available = agent.available.allocatableTo(role);
  if (available.isEmpty()) return undefined;
  const scalars = available.quotaScalars();
  const guaranteed = scalars.shrinkQuotaScalars(unsatisfied, 'drop');
  if (guaranteed.isEmpty()) return undefined;
  if (guaranteed === scalars) return available;
  const beyond = scalars.subtract(guaranteed).shrinkQuotaScalars(quota.caps(role, true, guaranteed.scalarQuantitiesMilli()), 'keep');
  return available.withoutQuotaScalars().add(guaranteed).add(beyond);
}

/** Stage 2: everything the role may use here, with unreserved scalars cut to its limits and the headroom. */
function fairOffer(quota: QuotaBook, agent: AgentState, role: string): Resources | undefined {
  const available = agent.available.allocatableTo(role);
  if (available.isEmpty()) return undefined;
  if (!quota.constrains(role)) return available;
  const scalars = available.quotaScalars();
  const cut = scalars.shrinkQuotaScalars(quota.caps(role, quota.hasUnsatisfiedGuarantees()), 'keep');
  if (cut === scalars) return available;
  const offer = available.withoutQuotaScalars().add(cut);
  return offer.isEmpty() ? undefined : offer;
}
