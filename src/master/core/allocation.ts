/**
 * Turns allocator decisions into offers. A batch pass runs every allocation interval; when
 * resources are freed or demand appears, a prompt pass runs at once for just what changed,
 * so a finished task's resources are re-offered without waiting for the next batch.
 */
import { hasCapability } from '../../api/index.js';
import type { Offer } from '../../api/index.js';
import type { MasterContext } from './context.js';
import type { AgentRecord, FrameworkRecord, OfferRecord } from './state.js';

export const BATCH_ALLOCATION_TIMER = 'allocation:batch';
export const PROMPT_ALLOCATION_TIMER = 'allocation:prompt';

/** Asks for a prompt pass over one agent, or over every agent when no id is given. */
export function requestAllocation(ctx: MasterContext, agentId?: string): void {
  const pending = ctx.state.promptAllocation;
  if (agentId === undefined) pending.all = true;
  else pending.agents.add(agentId);
  if (!pending.armed) {
    pending.armed = true;
    ctx.setTimer(PROMPT_ALLOCATION_TIMER, 0);
  }
}

export function runPromptAllocation(ctx: MasterContext): void {
  const pending = ctx.state.promptAllocation;
  pending.armed = false;
  const agents = pending.all ? undefined : [...pending.agents];
  pending.all = false;
  pending.agents.clear();
  allocateAndOffer(ctx, agents);
}

export function runBatchAllocation(ctx: MasterContext): void {
  ctx.setTimer(BATCH_ALLOCATION_TIMER, ctx.config.allocationIntervalMs);
  allocateAndOffer(ctx, undefined);
}

function allocateAndOffer(ctx: MasterContext, agentIds: string[] | undefined): void {
  const allocations = ctx.allocator.allocate(agentIds);
  ctx.count('allocator/mesos/allocation_runs');
  if (allocations.length === 0) return;
  const byFramework = new Map<string, Offer[]>();
  for (const allocation of allocations) {
    const framework = ctx.state.frameworks.get(allocation.frameworkId);
    const agent = ctx.state.agents.get(allocation.agentId);
    if (framework === undefined || agent === undefined || framework.connection === undefined) {
      // The allocator raced a removal it has not been told of; hand the resources back.
      ctx.allocator.recoverResources(allocation.frameworkId, allocation.agentId, allocation.resources);
      continue;
    }
    const record: OfferRecord = {
      id: `${ctx.masterId}-O${ctx.state.nextOfferNumber++}`,
      frameworkId: framework.id,
      agentId: agent.id,
      role: allocation.role,
      resources: allocation.resources,
      createdMs: ctx.clock.monotonicMs(),
    };
    ctx.state.offers.set(record.id, record);
    framework.offers.add(record.id);
    agent.offers.add(record.id);
    let list = byFramework.get(framework.id);
    if (list === undefined) byFramework.set(framework.id, (list = []));
    list.push(offerToWire(ctx, record, framework, agent));
  }
  for (const [frameworkId, offers] of byFramework) {
    const framework = ctx.state.frameworks.get(frameworkId)!;
    ctx.sendToFramework(framework, { type: 'OFFERS', offers: { offers } });
    ctx.count('master/offers_sent', offers.length);
  }
}

function offerToWire(ctx: MasterContext, offer: OfferRecord, framework: FrameworkRecord, agent: AgentRecord): Offer {
  // Frameworks without MULTI_ROLE never see allocation_info (facts 1.4); reservations come in
  // the post-refinement format (a `reservations` stack) only to RESERVATION_REFINEMENT ones.
  const multiRole = hasCapability(framework.info, 'MULTI_ROLE');
  const resources = multiRole ? offer.resources : offer.resources.unallocated();
  const format = hasCapability(framework.info, 'RESERVATION_REFINEMENT') ? 'post-refinement' : 'pre-refinement';
  return {
    id: { value: offer.id },
    framework_id: { value: framework.id },
    agent_id: { value: agent.id },
    hostname: agent.hostname,
    url: {
      scheme: 'http',
      address: { hostname: agent.hostname, ip: agent.endpoint.ip, port: agent.endpoint.port },
      path: '/slave(1)',
    },
    resources: resources.toWire(format),
    attributes: agent.attributes,
    executor_ids: ctx.state.executors.idsOn(agent.id, framework.id).map((value) => ({ value })),
    ...(multiRole ? { allocation_info: { role: offer.role } } : {}),
  };
}

/**
 * Withdraws an offer: its resources go back to the allocator (with a refuse filter when the
 * framework declined), and the framework is told with RESCIND when `rescind` is set.
 */
export function removeOffer(
  ctx: MasterContext,
  offer: OfferRecord,
  options: { rescind: boolean; recover: boolean; refuseSeconds?: number },
): void {
  ctx.state.offers.delete(offer.id);
  const framework = ctx.state.frameworks.get(offer.frameworkId);
  framework?.offers.delete(offer.id);
  ctx.state.agents.get(offer.agentId)?.offers.delete(offer.id);
  if (options.recover) {
    ctx.allocator.recoverResources(offer.frameworkId, offer.agentId, offer.resources, options.refuseSeconds);
  }
  if (options.rescind && framework !== undefined) {
    ctx.sendToFramework(framework, { type: 'RESCIND', rescind: { offer_id: { value: offer.id } } });
    ctx.count('master/offers_rescinded');
  }
}

/** Withdraws every offer in `offerIds` (a framework's or an agent's), optionally only those `which` picks. */
export function removeOffers(
  ctx: MasterContext,
  offerIds: Iterable<string>,
  options: { rescind: boolean; recover: boolean },
  which: (offer: OfferRecord) => boolean = () => true,
): void {
  for (const offerId of [...offerIds]) {
    const offer = ctx.state.offers.get(offerId);
    if (offer !== undefined && which(offer)) removeOffer(ctx, offer, options);
  }
}
