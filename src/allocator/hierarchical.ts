/**
 * One allocation pass (Mesos's HierarchicalDRF, facts 6.4): per agent, roles in hierarchical DRF
 * order, then frameworks within a role by DRF. Stage 1 serves roles with unsatisfied quota
 * guarantees; stage 2 serves every role, holding back the headroom those guarantees still need.
 */
import type { Resources } from '../resources/index.js';
import { type MinAllocatableBySlot, meetsMinimumMilli } from './allocatable.js';
import { type RefuseFilters, isFilteredAt } from './filters.js';
import type { QuotaBook } from './quota.js';
import type { ScalarSlots } from './scalars.js';
import type { Shares } from './shares.js';
import type { AgentState, Allocation, FrameworkState } from './state.js';

export interface CycleDeps {
  readonly shares: Shares;
  readonly quota: QuotaBook;
  readonly filters: RefuseFilters;
  readonly frameworks: ReadonlyMap<string, FrameworkState>;
  readonly minRules: MinAllocatableBySlot;
  readonly slots: ScalarSlots;
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
  const roles = snapshot(deps.shares.roleOrder());
  for (let r = 0; r < roles.length; r++) {
    const role = roles[r]!;
    if (agent.available.isEmpty()) return;
    // Cheap and allocation-free: once the unreserved part is taken, most roles have nothing here.
    if (!agent.available.usableBy(role)) continue;
    const offer = stage === 'guarantees' ? guaranteedOffer(deps, agent, role) : fairOffer(deps, agent, role);
    if (offer === undefined || !meetsMinimumMilli(deps.slots.of(offer), deps.minRules)) continue;
    const roleIndex = filters === undefined ? -1 : deps.filters.roleIndex(role);
    for (const frameworkId of deps.shares.frameworkOrder(role)) {
      let resources = offer;
      if (offer.hasRefinedReservations() && !deps.frameworks.get(frameworkId)!.reservationRefinement) {
        resources = offer.withoutRefinedReservations();
        if (resources.isEmpty() || !meetsMinimumMilli(deps.slots.of(resources), deps.minRules)) continue;
      }
      if (roleIndex >= 0 && isFilteredAt(filters!, deps.filters.frameworkIndex(frameworkId), roleIndex, resources, nowMs)) continue;
      out.push(deps.book(agent, frameworkId, role, resources));
      break;
    }
  }
}

/** One reused array: agents are visited one at a time, and copying 20 names is cheaper than garbage. */
const order: string[] = [];

function snapshot(live: readonly string[]): readonly string[] {
  order.length = live.length;
  for (let i = 0; i < live.length; i++) order[i] = live[i]!;
  return order;
}

/**
 * Stage 1, for a role whose top-level role is still short of its guarantee: the unreserved
 * scalars it is guaranteed, cut to what is missing, plus whatever else its limits and the
 * headroom for other guarantees allow, plus reservations and non-scalars. Nothing when the
 * agent has nothing toward the guarantee (reservations alone wait for stage 2).
 */
function guaranteedOffer({ quota, slots }: CycleDeps, agent: AgentState, role: string): Resources | undefined {
  if (!quota.isShort(role)) return undefined;
  const available = agent.available.allocatableTo(role);
  if (available.isEmpty()) return undefined;
  const scalars = available.quotaScalars();
  // Names the role is not short of get nothing here (a cap of 0, and 0 past the caps' end).
  const guaranteed = scalars.shrinkQuotaScalarsBySlot(quota.unsatisfied(role), slots.slotOf, 0);
  if (guaranteed.isEmpty()) return undefined;
  if (guaranteed === scalars) return available;
  const caps = quota.caps(role, true, slots.of(guaranteed));
  const beyond = scalars.subtract(guaranteed).shrinkQuotaScalarsBySlot(caps, slots.slotOf, Infinity);
  return available.withoutQuotaScalars().add(guaranteed).add(beyond);
}

/** Stage 2: everything the role may use here, with unreserved scalars cut to its limits and the headroom. */
function fairOffer({ quota, slots }: CycleDeps, agent: AgentState, role: string): Resources | undefined {
  const available = agent.available.allocatableTo(role);
  if (available.isEmpty()) return undefined;
  if (!quota.constrains(role)) return available;
  const scalars = available.quotaScalars();
  const cut = scalars.shrinkQuotaScalarsBySlot(quota.caps(role, quota.hasUnsatisfiedGuarantees()), slots.slotOf, Infinity);
  if (cut === scalars) return available;
  const offer = available.withoutQuotaScalars().add(cut);
  return offer.isEmpty() ? undefined : offer;
}
