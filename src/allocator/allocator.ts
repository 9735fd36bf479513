/**
 * The allocator: Mesos's HierarchicalDRF in miniature. Event methods in, allocations out as
 * data; it never sends offers, reads no ambient clock, and keeps no state the master owns.
 */
import { BugIndicatingError, type Clock, type Prng, assert } from '../base/index.js';
import { Resources, ResourcesInterner } from '../resources/index.js';
import { DEFAULT_MIN_ALLOCATABLE, type MinAllocatable, toMilliRules, toSlotRules } from './allocatable.js';
import { MAX_REFUSE_SECONDS, RefuseFilters } from './filters.js';
import { type CycleDeps, allocateAgents } from './hierarchical.js';
import { QuotaBook, type QuotaSpec } from './quota.js';
import { ScalarSlots } from './scalars.js';
import { Shares, addQuantities } from './shares.js';
import { assertSameQuantities, checkAllocatorInvariants } from './invariants.js';
import { type AgentState, type Allocation, type FrameworkState, withAllocationRoles } from './state.js';

export type { Allocation } from './state.js';

export interface AllocatorOptions {
  clock: Clock;
  /** Shuffles the agent order each pass, as Mesos does; without one, agents go in the order added. */
  prng?: Prng;
  /** --min_allocatable_resources; default cpus:0.01 OR mem:32. An empty list allows anything. */
  minAllocatable?: MinAllocatable;
  /** --fair_sharing_excluded_resource_names: not counted in dominant shares (e.g. gpus). */
  fairSharingExcludedResourceNames?: readonly string[];
}

export interface FrameworkOptions {
  roles: string[];
  suppressedRoles?: string[];
  /** Default true. */
  active?: boolean;
  /** RESERVATION_REFINEMENT capability: offers may carry refined reservations. Default false. */
  reservationRefinement?: boolean;
}

export class Allocator {
  private readonly clock: Clock;
  private readonly prng: Prng | undefined;
  /** One slot per scalar name, shared by every vector of quantities the allocator keeps. */
  private readonly slots = new ScalarSlots();
  private readonly frameworks = new Map<string, FrameworkState>();
  private readonly agents = new Map<string, AgentState>();
  private readonly weights = new Map<string, number>();
  private readonly shares: Shares;
  private readonly quota = new QuotaBook(this.slots);
  private readonly filters = new RefuseFilters();
  /** Agents' totals, shared among agents alike (interner.ts): a free agent's memos then serve them all. */
  private readonly totals = new ResourcesInterner();
  private readonly cycle: CycleDeps;
  /** Something changed that any agent could now be offered for (a framework event). */
  private dirtyAll = false;
  private readonly dirtyAgents = new Set<string>();

  constructor(options: AllocatorOptions) {
    this.clock = options.clock;
    this.prng = options.prng;
    const excluded = new Set(options.fairSharingExcludedResourceNames ?? []);
    this.shares = new Shares(excluded, (role) => this.weights.get(role) ?? 1, this.slots);
    this.cycle = {
      shares: this.shares,
      quota: this.quota,
      filters: this.filters,
      frameworks: this.frameworks,
      minRules: toSlotRules(toMilliRules(options.minAllocatable ?? DEFAULT_MIN_ALLOCATABLE), this.slots),
      slots: this.slots,
      book: (agent, frameworkId, role, resources) => this.book(agent, frameworkId, role, resources),
    };
  }

  // ---- frameworks ----

  /**
   * `used` (per agent) is what the framework's tasks hold after a master failover. Agents already
   * added recorded those in addAgent; the framework's share is taken from their records, and `used`
   * is checked against them. Entries for agents not yet added arrive with those agents.
   */
  addFramework(frameworkId: string, info: FrameworkOptions, used?: ReadonlyMap<string, Resources>): void {
    assert(!this.frameworks.has(frameworkId), `addFramework: framework ${frameworkId} is already added`);
    // Checked before anything changes, so a bad report leaves no trace.
    for (const [agentId, resources] of used ?? []) {
      const agent = this.agents.get(agentId);
      if (agent === undefined) continue;
      const held = agent.allocated.get(frameworkId) ?? Resources.empty();
      const usedHere = this.withAllocationRoles(frameworkId, agentId, resources, info.roles);
      if (!held.contains(usedHere)) {
        throw new BugIndicatingError(`addFramework: ${frameworkId} uses ${usedHere} on ${agentId}, which reported only ${held}`);
      }
    }
    const fw: FrameworkState = {
      id: frameworkId,
      roles: new Set(info.roles),
      suppressed: new Set(info.suppressedRoles ?? []),
      active: info.active ?? true,
      reservationRefinement: info.reservationRefinement ?? false,
    };
    this.frameworks.set(frameworkId, fw);
    for (const role of fw.roles) this.syncClient(fw, role);
    for (const agent of this.agents.values()) {
      const held = agent.allocated.get(frameworkId);
      if (held !== undefined) this.track(fw, held);
    }
    this.dirtyAll = true;
  }

  /**
   * New roles and suppressed roles (UPDATE_FRAMEWORK, re-subscription). Filters of roles left, and
   * of roles no longer suppressed, are dropped; allocations in roles left stay counted until recovered.
   */
  updateFramework(
    frameworkId: string,
    info: { roles: string[]; suppressedRoles?: string[]; reservationRefinement?: boolean },
  ): void {
    const fw = this.framework(frameworkId, 'updateFramework');
    const before = new Set(fw.roles);
    const wasSuppressed = fw.suppressed;
    fw.roles = new Set(info.roles);
    fw.suppressed = new Set(info.suppressedRoles ?? []);
    if (info.reservationRefinement !== undefined) fw.reservationRefinement = info.reservationRefinement;
    const left = new Set([...before].filter((role) => !fw.roles.has(role)));
    const unsuppressed = [...wasSuppressed].filter((role) => fw.roles.has(role) && !fw.suppressed.has(role));
    const cleared = new Set([...left, ...unsuppressed]);
    if (cleared.size > 0) this.filters.clear(frameworkId, cleared);
    for (const role of fw.roles) this.syncClient(fw, role);
    for (const role of left) {
      this.syncClient(fw, role);
      this.shares.dropIfIdle(frameworkId, role);
    }
    this.dirtyAll = true;
  }

  /** Forgets the framework and its share. Agents keep counting its resources as allocated until the master recovers them. */
  removeFramework(frameworkId: string): void {
    const fw = this.frameworks.get(frameworkId);
    if (fw === undefined) return;
    for (const agent of this.agents.values()) {
      const held = agent.allocated.get(frameworkId);
      if (held !== undefined) this.untrack(fw, held);
    }
    this.shares.removeFramework(frameworkId);
    this.filters.clear(frameworkId);
    this.frameworks.delete(frameworkId);
  }

  activateFramework(frameworkId: string): void {
    const fw = this.framework(frameworkId, 'activateFramework');
    fw.active = true;
    for (const role of fw.roles) this.syncClient(fw, role);
    this.dirtyAll = true;
  }

  /** Inactive frameworks get nothing; their filters go, as a failed-over scheduler starts afresh. */
  deactivateFramework(frameworkId: string): void {
    const fw = this.framework(frameworkId, 'deactivateFramework');
    fw.active = false;
    for (const role of fw.roles) this.syncClient(fw, role);
    this.filters.clear(frameworkId);
  }

  /** Stops offers to the framework for those roles (all its roles when none are given). */
  suppressOffers(frameworkId: string, roles?: readonly string[]): void {
    const fw = this.framework(frameworkId, 'suppressOffers');
    for (const role of this.rolesOrAll(fw, roles)) {
      if (!fw.roles.has(role)) continue;
      fw.suppressed.add(role);
      this.syncClient(fw, role);
    }
  }

  /** Undoes suppression and clears every refuse filter of those roles (all its roles when none are given). */
  reviveOffers(frameworkId: string, roles?: readonly string[]): void {
    const fw = this.framework(frameworkId, 'reviveOffers');
    const revived = new Set(this.rolesOrAll(fw, roles));
    for (const role of revived) {
      fw.suppressed.delete(role);
      if (fw.roles.has(role)) this.syncClient(fw, role);
    }
    this.filters.clear(frameworkId, revived);
    this.dirtyAll = true;
  }

  // ---- roles ----

  /** Sets role weights (facts 6.4: > 0; 1 is the default). Takes effect at the next pass. */
  updateWeights(weights: Iterable<readonly [role: string, weight: number]>): void {
    for (const [role, weight] of weights) {
      assert(Number.isFinite(weight) && weight > 0, `updateWeights: weight of ${role} must be positive, got ${weight}`);
      if (weight === 1) this.weights.delete(role);
      else this.weights.set(role, weight);
      this.shares.roleSorter.weightChanged(role);
    }
    this.dirtyAll = true;
  }

  weight(role: string): number {
    return this.weights.get(role) ?? 1;
  }

  /** Sets or (with nothing in it) resets the quota of a top-level role. Validation is the master's. */
  updateQuota(role: string, quota: QuotaSpec): void {
    this.quota.set(role, quota);
    this.dirtyAll = true;
  }

  /** Guarantees and limits of a role (natural units); empty maps for the default quota. */
  quotaOf(role: string): { guarantees: Map<string, number>; limits: Map<string, number> } {
    return this.quota.get(role);
  }

  /** What the role's top-level role consumes against its quota: reservations plus unreserved allocation. */
  consumedQuota(role: string): Map<string, number> {
    return new Map([...this.quota.consumedBy(role)].map(([name, milli]) => [name, milli / 1000]));
  }

  // ---- agents ----

  /** `used` is what each framework's tasks hold there (an agent re-registering). */
  addAgent(agentId: string, info: { hostname: string }, total: Resources, used?: ReadonlyMap<string, Resources>): void {
    assert(!this.agents.has(agentId), `addAgent: agent ${agentId} is already added`);
    total = this.totals.intern(total);
    // Checked in full before anything changes, so a bad report leaves no trace.
    const allocated = new Map<string, Resources>();
    let available = total;
    for (const [frameworkId, resources] of used ?? []) {
      if (resources.isEmpty()) continue;
      const held = this.withAllocationRoles(frameworkId, agentId, resources);
      if (!available.contains(held.unallocated())) {
        throw new BugIndicatingError(`addAgent: ${agentId} has ${total} but its tasks use more (${held} for ${frameworkId})`);
      }
      available = available.subtract(held.unallocated());
      allocated.set(frameworkId, held);
    }
    this.agents.set(agentId, { id: agentId, hostname: info.hostname, total, available, allocated, active: true });
    this.quota.chargeAgent(total, 1);
    for (const [frameworkId, held] of allocated) {
      this.chargeAllocations(held, 1);
      const fw = this.frameworks.get(frameworkId);
      if (fw !== undefined) this.track(fw, held);
    }
    this.shares.addToTotal(this.slots.of(total), 1);
    this.dirtyAgents.add(agentId);
  }

  /** Forgets the agent and everything allocated on it; a no-op for an agent never added. */
  removeAgent(agentId: string): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return;
    for (const [frameworkId, held] of agent.allocated) {
      this.chargeAllocations(held, -1);
      const fw = this.frameworks.get(frameworkId);
      if (fw !== undefined) this.untrack(fw, held);
    }
    this.quota.chargeAgent(agent.total, -1);
    this.shares.addToTotal(this.slots.of(agent.total), -1);
    this.filters.removeAgent(agentId);
    this.dirtyAgents.delete(agentId);
    this.agents.delete(agentId);
  }

  activateAgent(agentId: string): void {
    this.agent(agentId, 'activateAgent').active = true;
    this.dirtyAgents.add(agentId);
  }

  deactivateAgent(agentId: string): void {
    this.agent(agentId, 'deactivateAgent').active = false;
  }

  // ---- resources ----

  /**
   * Gives resources back: a declined or rescinded offer, the unused part of an ACCEPT, or a
   * finished task. Resources without allocation_info are taken to be in the framework's one
   * role on that agent (asserted to be unambiguous). A positive refuseSeconds (capped at 365
   * days) installs a refuse filter for (framework, role, agent) over these resources. Recovery
   * on an agent already removed is a no-op, as Mesos; for a framework removed, it only frees the agent.
   */
  recoverResources(frameworkId: string, agentId: string, resources: Resources, refuseSeconds?: number): void {
    if (resources.isEmpty()) return;
    const agent = this.agents.get(agentId);
    if (agent === undefined) return;
    const recovered = this.withAllocationRoles(frameworkId, agentId, resources);
    const held = agent.allocated.get(frameworkId) ?? Resources.empty();
    // Most often the whole offer comes back: the very value booked, nothing to compare or subtract.
    // Otherwise subtract checks containment itself (one pass, not contains() and then subtract()).
    let left = Resources.empty();
    if (held !== recovered) {
      try {
        left = held.subtract(recovered);
      } catch {
        throw new BugIndicatingError(`recoverResources: ${frameworkId} holds ${held} on ${agentId}, not ${recovered}`);
      }
    }
    if (left.isEmpty()) agent.allocated.delete(frameworkId);
    else agent.allocated.set(frameworkId, left);
    // Nothing held any more: available is the total (an invariant), without adding it up.
    agent.available = agent.allocated.size === 0 ? agent.total : this.restored(agent, agent.available.add(recovered.unallocated()));
    this.chargeAllocations(recovered, -1);
    this.dirtyAgents.add(agentId);

    const fw = this.frameworks.get(frameworkId);
    if (fw === undefined) return;
    this.untrack(fw, recovered);
    if (refuseSeconds === undefined || refuseSeconds === 0) return;
    assert(refuseSeconds > 0, `recoverResources: refuseSeconds must not be negative, got ${refuseSeconds}`);
    const expiresAtMs = this.clock.monotonicMs() + Math.min(refuseSeconds, MAX_REFUSE_SECONDS) * 1000;
    const single = recovered.allocationRole();
    if (typeof single === 'string') {
      this.filters.add({ frameworkId, role: single, agentId, resources: recovered.unallocated(), expiresAtMs });
      return;
    }
    for (const [role, part] of recovered.allocations()) {
      this.filters.add({ frameworkId, role: role!, agentId, resources: part.unallocated(), expiresAtMs });
    }
  }

  /**
   * A framework's RESERVE or UNRESERVE on resources it was offered: `from` (which it holds, with
   * allocation_info) becomes `to`, and the agent's total changes with it. Quantities are equal.
   */
  updateAllocation(frameworkId: string, agentId: string, from: Resources, to: Resources): void {
    const agent = this.agent(agentId, 'updateAllocation');
    const held = agent.allocated.get(frameworkId) ?? Resources.empty();
    if (!held.contains(from)) throw new BugIndicatingError(`updateAllocation: ${frameworkId} holds ${held} on ${agentId}, not ${from}`);
    assertSameQuantities(from, to, 'updateAllocation');
    this.retotal(agent, agent.total.subtract(from.unallocated()).add(to.unallocated()));
    agent.allocated.set(frameworkId, held.subtract(from).add(to));
    this.chargeAllocations(from, -1);
    this.chargeAllocations(to, 1);
    this.dirtyAgents.add(agentId);
  }

  /**
   * An operator's reservation change on unallocated resources: `from` becomes `to` in the agent's
   * total and available. False, changing nothing, when `from` is not all available (offered or used).
   */
  updateAvailable(agentId: string, from: Resources, to: Resources): boolean {
    const agent = this.agent(agentId, 'updateAvailable');
    if (!agent.available.contains(from)) return false;
    assertSameQuantities(from, to, 'updateAvailable');
    this.retotal(agent, agent.total.subtract(from).add(to));
    agent.available = this.restored(agent, agent.available.subtract(from).add(to));
    this.dirtyAgents.add(agentId);
    return true;
  }

  /** The agent's total with reservations as they are now (what it should checkpoint). */
  total(agentId: string): Resources {
    return this.agents.get(agentId)?.total ?? Resources.empty();
  }

  // ---- the cycle ----

  /**
   * One allocation pass over the given agents (the prompt re-offer after resources were freed)
   * or over all (the batch every --allocation_interval); see hierarchical.ts. What is returned
   * counts as allocated until recoverResources.
   */
  allocate(agentIds?: Iterable<string>): Allocation[] {
    const nowMs = this.clock.monotonicMs();
    for (const agentId of this.filters.expire(nowMs)) this.dirtyAgents.add(agentId);
    const candidates: AgentState[] = [];
    if (agentIds === undefined) for (const agent of this.agents.values()) candidates.push(agent);
    else for (const id of new Set(agentIds)) if (this.agents.has(id)) candidates.push(this.agents.get(id)!);
    this.prng?.shuffle(candidates);
    const out = allocateAgents(this.cycle, candidates, nowMs);
    if (agentIds === undefined) {
      this.dirtyAll = false;
      this.dirtyAgents.clear();
    } else {
      for (const agent of candidates) this.dirtyAgents.delete(agent.id);
    }
    return out;
  }

  /** Whether anything changed since the last pass that could yield a new allocation. */
  hasPendingWork(): boolean {
    if (this.dirtyAll || this.dirtyAgents.size > 0) return true;
    const next = this.filters.nextExpiryMs();
    return next !== undefined && next <= this.clock.monotonicMs();
  }

  /** Records one allocation of the cycle; `resources` are part of the agent's available. */
  private book(agent: AgentState, frameworkId: string, role: string, resources: Resources): Allocation {
    // Most offers are all the role may use here: then the rest is a memoized split, not a subtraction.
    const whole = resources === agent.available.allocatableTo(role);
    agent.available = whole ? agent.available.notAllocatableTo(role) : agent.available.subtract(resources);
    const allocated = resources.allocatedTo(role);
    const held = agent.allocated.get(frameworkId);
    agent.allocated.set(frameworkId, held === undefined ? allocated : held.add(allocated));
    this.shares.allocated(frameworkId, role, this.slots.of(resources));
    this.quota.chargeAllocation(role, resources, 1);
    return { frameworkId, agentId: agent.id, role, resources: allocated };
  }

  // ---- read-only views (for /state, /metrics, tests) ----

  /** Per agent, what the framework holds (offered or in use). O(agents): for views, not loops. */
  allocated(frameworkId: string): Map<string, Resources> {
    const out = new Map<string, Resources>();
    for (const agent of this.agents.values()) {
      const held = agent.allocated.get(frameworkId);
      if (held !== undefined) out.set(agent.id, held);
    }
    return out;
  }

  /** Per framework, what is allocated on the agent. */
  agentAllocated(agentId: string): ReadonlyMap<string, Resources> {
    return this.agents.get(agentId)?.allocated ?? new Map();
  }

  /** What the agent has not allocated (without allocation_info). */
  available(agentId: string): Resources {
    return this.agents.get(agentId)?.available ?? Resources.empty();
  }

  /** Max over scalars of allocated / cluster total: in one role, or over all its roles. */
  frameworkDominantShare(frameworkId: string, role?: string): number {
    if (role !== undefined) return this.shares.frameworkShare(frameworkId, role);
    const sum = new Map<string, number>();
    for (const each of this.shares.rolesOf(frameworkId)) addQuantities(sum, this.shares.allocation(frameworkId, each), 1);
    return this.shares.dominantShare(sum);
  }

  /** The dominant share of the role and its subtree over the cluster, divided by its weight (allocator/mesos/roles/<role>/shares/dominant). */
  roleDominantShare(role: string): number {
    return this.shares.roleShare(role);
  }

  /** Scalars held (offered or used) by the role and its descendants, in natural units. */
  roleAllocation(role: string): Map<string, number> {
    return new Map([...this.shares.roleSorter.subtreeAllocation(role)].map(([name, milli]) => [name, milli / 1000]));
  }

  /** Roles the allocator knows: with frameworks, weights or quota, and their ancestors. */
  roles(): string[] {
    const roles = new Set([...this.shares.roleSorter.roles(), ...this.weights.keys(), ...this.quota.roles()]);
    return [...roles].sort();
  }

  /** Unexpired refuse filters, for one role (allocator/mesos/offer_filters/roles/<role>/active) or all. */
  activeFilterCount(role?: string): number {
    for (const agentId of this.filters.expire(this.clock.monotonicMs())) this.dirtyAgents.add(agentId);
    return this.filters.count(role);
  }

  /** When the next refuse filter expires: the master may want an allocation pass then. */
  nextFilterExpiryMs(): number | undefined {
    return this.filters.nextExpiryMs();
  }

  /** Cluster total of each scalar, as shares are computed. */
  totalQuantities(): Map<string, number> {
    return new Map([...this.shares.totalQuantities()].map(([name, milli]) => [name, milli / 1000]));
  }

  /** Asserts the bookkeeping adds up; O(agents), for tests and the simulator. */
  checkInvariants(): void {
    checkAllocatorInvariants({ agents: this.agents, frameworks: this.frameworks, shares: this.shares, quota: this.quota });
  }

  // ---- bookkeeping ----

  /** Charges allocated resources (carrying allocation roles) to their roles' quota, or gives them back. */
  private chargeAllocations(resources: Resources, sign: 1 | -1): void {
    // One role (an offer coming back) is the common case: no Map of parts for it.
    const single = resources.allocationRole();
    if (typeof single === 'string') {
      this.quota.chargeAllocation(single, resources, sign);
      return;
    }
    for (const [role, part] of resources.allocations()) {
      if (!(role !== undefined)) throw new BugIndicatingError(`quota: resources ${part} carry no allocation role`);
      this.quota.chargeAllocation(role, part, sign);
    }
  }

  /** A new total (reservations changed): the old one's quota charges go, the new one's come. */
  private retotal(agent: AgentState, total: Resources): void {
    this.quota.chargeAgent(agent.total, -1);
    agent.total = this.totals.intern(total);
    this.quota.chargeAgent(agent.total, 1);
  }

  /**
   * A fully free agent gets its `total` object back, so the memos on that value (its split per
   * role, its allocated form) serve every following cycle instead of being rebuilt.
   */
  private restored(agent: AgentState, available: Resources): Resources {
    return available.equals(agent.total) ? agent.total : available;
  }

  private framework(frameworkId: string, event: string): FrameworkState {
    const fw = this.frameworks.get(frameworkId);
    if (!(fw !== undefined)) throw new BugIndicatingError(`${event}: unknown framework ${frameworkId}`);
    return fw;
  }

  private agent(agentId: string, event: string): AgentState {
    const agent = this.agents.get(agentId);
    if (!(agent !== undefined)) throw new BugIndicatingError(`${event}: unknown agent ${agentId}`);
    return agent;
  }

  private rolesOrAll(fw: FrameworkState, roles: readonly string[] | undefined): readonly string[] {
    return roles === undefined || roles.length === 0 ? [...fw.roles] : roles;
  }

  /** A framework competes in a role when it is active, subscribed to the role and not suppressed in it. */
  private syncClient(fw: FrameworkState, role: string): void {
    this.shares.setCompeting(fw.id, role, fw.active && fw.roles.has(role) && !fw.suppressed.has(role));
  }

  /** Counts resources (carrying allocation roles) in the framework's and the roles' shares. */
  private track(fw: FrameworkState, resources: Resources): void {
    for (const [role, part] of resources.allocations()) {
      if (!(role !== undefined)) throw new BugIndicatingError(`track: resources of ${fw.id} carry no allocation role`);
      this.syncClient(fw, role);
      this.shares.allocated(fw.id, role, this.slots.of(part));
    }
  }

  private untrack(fw: FrameworkState, resources: Resources): void {
    const single = resources.allocationRole();
    if (typeof single === 'string') {
      this.untrackPart(fw, single, resources);
      return;
    }
    for (const [role, part] of resources.allocations()) this.untrackPart(fw, role!, part);
  }

  private untrackPart(fw: FrameworkState, role: string, part: Resources): void {
    this.shares.unallocated(fw.id, role, this.slots.of(part));
    if (!fw.roles.has(role)) this.shares.dropIfIdle(fw.id, role);
  }

  private withAllocationRoles(frameworkId: string, agentId: string, resources: Resources, roles?: Iterable<string>): Resources {
    const held = this.agents.get(agentId)?.allocated.get(frameworkId);
    return withAllocationRoles(resources, held, roles ?? this.frameworks.get(frameworkId)?.roles ?? [], frameworkId, agentId);
  }
}

