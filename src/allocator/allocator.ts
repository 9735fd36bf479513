/**
 * The allocator: Mesos's HierarchicalDRF in miniature. Event methods in, allocations out as
 * data; it never sends offers, reads no ambient clock, and keeps no state the master owns.
 */
import { BugIndicatingError, type Clock, type Prng, assert } from '../base/index.js';
import { Resources } from '../resources/index.js';
import { DEFAULT_MIN_ALLOCATABLE, type MinAllocatable, type MinAllocatableMilli, meetsMinimum, toMilliRules } from './allocatable.js';
import { type AgentFilters, MAX_REFUSE_SECONDS, RefuseFilters, isFiltered } from './filters.js';
import { Shares, addQuantities } from './shares.js';

export interface AllocatorOptions {
  clock: Clock;
  /** Shuffles the agent order each pass, as Mesos does; without one, agents go in the order added. */
  prng?: Prng;
  /** --min_allocatable_resources; default cpus:0.01 OR mem:32. An empty list allows anything. */
  minAllocatable?: MinAllocatable;
  /** --fair_sharing_excluded_resource_names: not counted in dominant shares (e.g. gpus). */
  fairSharingExcludedResourceNames?: readonly string[];
}

/** One offer's worth: one agent, one role, one framework. */
export interface Allocation {
  frameworkId: string;
  agentId: string;
  role: string;
  /** Carries allocation_info.role (Resources.allocatedTo(role)). */
  resources: Resources;
}

export interface FrameworkOptions {
  roles: string[];
  suppressedRoles?: string[];
  /** Default true. */
  active?: boolean;
}

interface FrameworkState {
  readonly id: string;
  roles: Set<string>;
  suppressed: Set<string>;
  active: boolean;
}

interface AgentState {
  readonly id: string;
  readonly hostname: string;
  readonly total: Resources;
  /** total minus everything allocated, without allocation_info. */
  available: Resources;
  /**
   * Per framework, including frameworks removed before their resources were recovered. The one
   * record of who holds what: the sorters keep only the sums that shares are made of.
   */
  readonly allocated: Map<string, Resources>;
  active: boolean;
}

export class Allocator {
  private readonly clock: Clock;
  private readonly prng: Prng | undefined;
  private readonly minRules: MinAllocatableMilli;
  private readonly frameworks = new Map<string, FrameworkState>();
  private readonly agents = new Map<string, AgentState>();
  private readonly shares: Shares;
  private readonly filters = new RefuseFilters();
  /** Something changed that any agent could now be offered for (a framework event). */
  private dirtyAll = false;
  private readonly dirtyAgents = new Set<string>();

  constructor(options: AllocatorOptions) {
    this.clock = options.clock;
    this.prng = options.prng;
    this.minRules = toMilliRules(options.minAllocatable ?? DEFAULT_MIN_ALLOCATABLE);
    this.shares = new Shares(new Set(options.fairSharingExcludedResourceNames ?? []));
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
    };
    this.frameworks.set(frameworkId, fw);
    for (const role of fw.roles) this.syncClient(fw, role);
    for (const agent of this.agents.values()) {
      const held = agent.allocated.get(frameworkId);
      if (held !== undefined) this.track(fw, held);
    }
    this.dirtyAll = true;
  }

  /** New roles and suppressed roles. Filters of roles left are dropped; their allocations stay counted until recovered. */
  updateFramework(frameworkId: string, info: { roles: string[]; suppressedRoles?: string[] }): void {
    const fw = this.framework(frameworkId, 'updateFramework');
    const before = new Set(fw.roles);
    fw.roles = new Set(info.roles);
    fw.suppressed = new Set(info.suppressedRoles ?? []);
    const left = new Set([...before].filter((role) => !fw.roles.has(role)));
    if (left.size > 0) this.filters.clear(frameworkId, left);
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
      fw.suppressed.add(role);
      if (fw.roles.has(role)) this.syncClient(fw, role);
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

  // ---- agents ----

  /** `used` is what each framework's tasks hold there (an agent re-registering). */
  addAgent(agentId: string, info: { hostname: string }, total: Resources, used?: ReadonlyMap<string, Resources>): void {
    assert(!this.agents.has(agentId), `addAgent: agent ${agentId} is already added`);
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
    for (const [frameworkId, held] of allocated) {
      const fw = this.frameworks.get(frameworkId);
      if (fw !== undefined) this.track(fw, held);
    }
    this.shares.addToTotal(total.scalarQuantitiesMilli(), 1);
    this.dirtyAgents.add(agentId);
  }

  /** Forgets the agent and everything allocated on it; a no-op for an agent never added. */
  removeAgent(agentId: string): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return;
    for (const [frameworkId, held] of agent.allocated) {
      const fw = this.frameworks.get(frameworkId);
      if (fw !== undefined) this.untrack(fw, held);
    }
    this.shares.addToTotal(agent.total.scalarQuantitiesMilli(), -1);
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
    if (!held.contains(recovered)) {
      throw new BugIndicatingError(`recoverResources: ${frameworkId} holds ${held} on ${agentId}, not ${recovered}`);
    }
    const left = held.subtract(recovered);
    if (left.isEmpty()) agent.allocated.delete(frameworkId);
    else agent.allocated.set(frameworkId, left);
    agent.available = this.restored(agent, agent.available.add(recovered.unallocated()));
    this.dirtyAgents.add(agentId);

    const fw = this.frameworks.get(frameworkId);
    if (fw === undefined) return;
    this.untrack(fw, recovered);
    if (refuseSeconds === undefined || refuseSeconds === 0) return;
    assert(refuseSeconds > 0, `recoverResources: refuseSeconds must not be negative, got ${refuseSeconds}`);
    const expiresAtMs = this.clock.monotonicMs() + Math.min(refuseSeconds, MAX_REFUSE_SECONDS) * 1000;
    for (const [role, part] of recovered.allocations()) {
      this.filters.add({ frameworkId, role: role!, agentId, resources: part.unallocated(), expiresAtMs });
    }
  }

  // ---- the cycle ----

  /**
   * One allocation pass over the given agents (the prompt re-offer after resources were freed)
   * or over all (the batch every --allocation_interval). Per agent, roles in DRF order, then
   * frameworks in DRF order: the first one not filtered gets everything its role may use there.
   * What is returned counts as allocated until recoverResources.
   */
  allocate(agentIds?: Iterable<string>): Allocation[] {
    const nowMs = this.clock.monotonicMs();
    for (const agentId of this.filters.expire(nowMs)) this.dirtyAgents.add(agentId);
    const candidates = agentIds === undefined ? [...this.agents.keys()] : [...new Set(agentIds)].filter((id) => this.agents.has(id));
    this.prng?.shuffle(candidates);
    const out: Allocation[] = [];
    if (this.shares.roleOrder().length > 0) {
      for (const agentId of candidates) this.allocateAgent(this.agents.get(agentId)!, nowMs, out);
    }
    if (agentIds === undefined) {
      this.dirtyAll = false;
      this.dirtyAgents.clear();
    } else {
      for (const agentId of candidates) this.dirtyAgents.delete(agentId);
    }
    return out;
  }

  /** Whether anything changed since the last pass that could yield a new allocation. */
  hasPendingWork(): boolean {
    if (this.dirtyAll || this.dirtyAgents.size > 0) return true;
    const next = this.filters.nextExpiryMs();
    return next !== undefined && next <= this.clock.monotonicMs();
  }

  private allocateAgent(agent: AgentState, nowMs: number, out: Allocation[]): void {
    if (!agent.active || agent.available.isEmpty()) return;
    const filters = this.filters.onAgent(agent.id);
    // The live order: an allocation moves that role later (its share grew), which shifts the
    // next role into this index, so the index only advances when nothing was allocated. A role
    // met twice has nothing left here (it just got everything it may use), so the order seen is
    // the order at the start of this agent, without copying it.
    const roles = this.shares.roleOrder();
    for (let i = 0; i < roles.length; ) {
      const role = roles[i]!;
      if (!this.allocateRole(agent, role, filters, nowMs, out)) {
        i++;
        continue;
      }
      if (agent.available.isEmpty()) return;
    }
  }

  /** Offers the agent's resources usable by `role` to its first framework in DRF order that is not filtered. */
  private allocateRole(agent: AgentState, role: string, filters: AgentFilters | undefined, nowMs: number, out: Allocation[]): boolean {
    const offerable = agent.available.allocatableTo(role);
    if (offerable.isEmpty()) return false;
    const quantities = offerable.scalarQuantitiesMilli();
    if (!meetsMinimum(quantities, this.minRules)) return false;
    let chosen: string | undefined;
    for (const frameworkId of this.shares.frameworkOrder(role)) {
      if (filters !== undefined && isFiltered(filters, frameworkId, role, offerable, nowMs)) continue;
      chosen = frameworkId;
      break;
    }
    if (chosen === undefined) return false;
    const resources = offerable.allocatedTo(role);
    agent.available = agent.available.notAllocatableTo(role);
    const held = agent.allocated.get(chosen);
    const sum = held === undefined ? resources : held.add(resources);
    agent.allocated.set(chosen, sum);
    this.shares.allocated(chosen, role, quantities);
    out.push({ frameworkId: chosen, agentId: agent.id, role, resources });
    return true;
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

  /** The role's share of the cluster, over its weight (1 for now). */
  roleDominantShare(role: string): number {
    return this.shares.roleShare(role);
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
    for (const agent of this.agents.values()) {
      let sum = agent.available;
      for (const held of agent.allocated.values()) sum = sum.add(held.unallocated());
      if (!sum.equals(agent.total)) throw new BugIndicatingError(`agent ${agent.id}: available + allocated = ${sum}, total = ${agent.total}`);
    }
    // The sorters' sums are what the agents' records say each framework holds in each role.
    const expected = new Map<string, Map<string, number>>();
    for (const agent of this.agents.values()) {
      for (const [frameworkId, held] of agent.allocated) {
        if (!this.frameworks.has(frameworkId)) continue;
        for (const [role, part] of held.allocations()) {
          const key = `${frameworkId} in ${role}`;
          if (!expected.has(key)) expected.set(key, new Map());
          addQuantities(expected.get(key)!, part.scalarQuantitiesMilli(), 1);
        }
      }
    }
    for (const fw of this.frameworks.values()) {
      for (const role of this.shares.rolesOf(fw.id)) {
        const want = expected.get(`${fw.id} in ${role}`) ?? new Map<string, number>();
        const have = this.shares.allocation(fw.id, role);
        const same = want.size === have.size && [...want].every(([name, milli]) => have.get(name) === milli);
        assert(same, `framework ${fw.id} in ${role}: sorter counts ${JSON.stringify([...have])}, agents hold ${JSON.stringify([...want])}`);
      }
    }
  }

  // ---- bookkeeping ----

  /**
   * A fully free agent gets its `total` object back, so the memos on that value (its split per
   * role, its allocated form) serve every following cycle instead of being rebuilt.
   */
  private restored(agent: AgentState, available: Resources): Resources {
    return available.equals(agent.total) ? agent.total : available;
  }

  private framework(frameworkId: string, event: string): FrameworkState {
    const fw = this.frameworks.get(frameworkId);
    assert(fw !== undefined, `${event}: unknown framework ${frameworkId}`);
    return fw;
  }

  private agent(agentId: string, event: string): AgentState {
    const agent = this.agents.get(agentId);
    assert(agent !== undefined, `${event}: unknown agent ${agentId}`);
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
      assert(role !== undefined, `track: resources of ${fw.id} carry no allocation role`);
      this.syncClient(fw, role);
      this.shares.allocated(fw.id, role, part.scalarQuantitiesMilli());
    }
  }

  private untrack(fw: FrameworkState, resources: Resources): void {
    for (const [role, part] of resources.allocations()) {
      this.shares.unallocated(fw.id, role!, part.scalarQuantitiesMilli());
      if (!fw.roles.has(role!)) this.shares.dropIfIdle(fw.id, role!);
    }
  }

  /**
   * Gives resources without allocation_info the framework's one role on that agent, or else its
   * one role at all (`roles`, by default those it is subscribed to).
   */
  private withAllocationRoles(frameworkId: string, agentId: string, resources: Resources, roles?: Iterable<string>): Resources {
    const bare = resources.allocations().get(undefined);
    if (bare === undefined) return resources;
    const candidates = new Set<string>();
    for (const role of this.agents.get(agentId)?.allocated.get(frameworkId)?.allocations().keys() ?? []) {
      if (role !== undefined) candidates.add(role);
    }
    if (candidates.size === 0) for (const role of roles ?? this.frameworks.get(frameworkId)?.roles ?? []) candidates.add(role);
    if (candidates.size !== 1) {
      const roles = [...candidates].join(', ') || 'none';
      throw new BugIndicatingError(`resources ${bare} of framework ${frameworkId} on ${agentId} carry no allocation_info and its role is ambiguous (${roles})`);
    }
    return resources.subtract(bare).add(bare.allocatedTo([...candidates][0]!));
  }
}
