/**
 * Invariants checked while simulating, from outside the code under test: what frameworks were
 * offered and what hollow agents run must never exceed an agent's total, an offer id is never
 * outstanding twice, and at the end every task is settled and every update acknowledged.
 */
import type { Offer } from '../api/index.js';
import { Resources } from '../resources/index.js';
import type { HollowAgent } from './hollow-agent.js';
import type { SyntheticFramework } from './synthetic-framework.js';

export class InvariantChecker {
  readonly violations: string[] = [];
  private readonly outstanding = new Map<string, { agentId: string; role: string; resources: Resources }>();
  /** Quota limits by role, scalar name to amount. */
  private readonly limits = new Map<string, ReadonlyMap<string, number>>();
  private readonly byAgent = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();

  constructor(private readonly agentsById: ReadonlyMap<string, HollowAgent>) {}

  onOffers(offers: readonly Offer[]): void {
    for (const offer of offers) {
      const id = offer.id.value;
      if (this.outstanding.has(id)) this.violate(`offer ${id} was sent twice`);
      const agentId = offer.agent_id.value;
      const role = offer.allocation_info?.role ?? '*';
      this.outstanding.set(id, { agentId, role, resources: Resources.fromWire(offer.resources).unallocated() });
      let set = this.byAgent.get(agentId);
      if (set === undefined) this.byAgent.set(agentId, (set = new Set()));
      set.add(id);
      this.dirty.add(agentId);
    }
  }

  /** The master consumed (ACCEPT/DECLINE) or withdrew (RESCIND) an offer. */
  onOfferGone(offerId: string): void {
    const offer = this.outstanding.get(offerId);
    if (offer === undefined) return;
    this.outstanding.delete(offerId);
    this.byAgent.get(offer.agentId)?.delete(offerId);
  }

  /** Offered plus running resources on every agent touched since the last check fit its total. */
  checkCapacity(): void {
    for (const agentId of this.dirty) {
      const agent = this.agentsById.get(agentId);
      if (agent === undefined) continue;
      let claimed = agent.used();
      for (const offerId of this.byAgent.get(agentId) ?? []) claimed = claimed.add(this.outstanding.get(offerId)!.resources);
      if (!agent.total.contains(claimed)) {
        this.violate(`agent ${agentId}: offered and running ${claimed.toString()} exceed its total ${agent.total.toString()}`);
      }
    }
    this.dirty.clear();
  }

  setQuotaLimit(role: string, limits: Readonly<Record<string, number>>): void {
    this.limits.set(role, new Map(Object.entries(limits)));
  }

  /**
   * Offered plus running resources of each role with a limit, its sub-roles included, stay
   * within the limit. Costs O(agents); the simulator runs it periodically, not per step.
   */
  checkQuotaLimits(agents: readonly HollowAgent[]): void {
    if (this.limits.size === 0) return;
    const byRole = new Map<string, Resources>();
    const charge = (role: string, resources: Resources) => byRole.set(role, (byRole.get(role) ?? Resources.empty()).add(resources));
    for (const agent of agents) for (const [role, used] of agent.usedByRole()) charge(role, used);
    for (const offer of this.outstanding.values()) charge(offer.role, offer.resources);
    for (const [limited, limits] of this.limits) {
      let consumed = Resources.empty();
      for (const [role, resources] of byRole) if (role === limited || role.startsWith(`${limited}/`)) consumed = consumed.add(resources);
      for (const [name, limit] of limits) {
        if (consumed.scalar(name) > limit + 1e-9) this.violate(`role ${limited}: ${name} ${consumed.scalar(name)} offered and running exceeds its quota limit ${limit}`);
      }
    }
  }

  markDirty(agentId: string): void {
    this.dirty.add(agentId);
  }

  /** After the run has settled: every task a framework thinks is active runs on an agent; nothing is left unacknowledged. */
  checkSettled(frameworks: readonly SyntheticFramework[], agents: readonly HollowAgent[]): void {
    const running = new Set<string>();
    for (const agent of agents) {
      for (const [taskId, task] of agent.tasks) if (task.state === 'TASK_RUNNING' || task.state === 'TASK_STARTING') running.add(`${task.frameworkId}/${taskId}`);
      const pending = agent.unacknowledged();
      if (pending > 0) this.violate(`agent ${agent.agentId}: ${pending} status updates never acknowledged`);
    }
    for (const framework of frameworks) {
      for (const taskId of framework.active.keys()) {
        if (!running.has(`${framework.frameworkId}/${taskId}`)) this.violate(`task ${taskId} of ${framework.name} is neither terminal nor running`);
      }
    }
  }

  private violate(message: string): void {
    if (this.violations.length < 100) this.violations.push(message);
  }
}
