/**
 * Dynamic reservations (facts 6.2, 3.1): RESERVE and UNRESERVE as offer operations of a
 * framework, and RESERVE_RESOURCES / UNRESERVE_RESOURCES of an operator. Each changes the
 * master's view of the agent's total, the allocator's books, and the agent's checkpoint.
 */
import { AgoraError } from '../../base/index.js';
import { hasCapability } from '../../api/index.js';
import type { OfferOperation, Resource } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { removeOffer, requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';
import type { AgentRecord, FrameworkRecord } from './state.js';

/** A reservation change: `from` becomes `to` (same quantities, another reservation stack). */
interface Conversion {
  from: Resources;
  to: Resources;
}

interface Reserver {
  /** The role reservations must be made for (a framework: its offer's role); any for an operator. */
  role?: string;
  /** The framework's principal: reservations it makes must carry it. */
  principal?: string;
  refinement: boolean;
}

/**
 * RESERVE: `resources` are the resources after the reservation, each ending with a DYNAMIC
 * reservation; what they come from is the same with that reservation popped.
 */
export function reserveConversion(resources: Resources, field: string, who: Reserver): Conversion | string {
  if (resources.isEmpty()) return `'${field}' lists no resources to reserve`;
  for (const [i, r] of resources.toWire().entries()) {
    const stack = r.reservations ?? [];
    const top = stack[stack.length - 1];
    const what = `'${field}' resource ${i} (${r.name})`;
    if (top === undefined) return `${what} has no reservation; end its 'reservations' with {"type":"DYNAMIC","role":"<role>"}`;
    if (top.type !== 'DYNAMIC') return `${what} must end with a DYNAMIC reservation, not ${top.type ?? 'UNKNOWN'}`;
    if (r.revocable !== undefined) return `${what} is revocable; revocable resources cannot be reserved`;
    if (who.role !== undefined && top.role !== who.role) {
      return `${what} is reserved for role "${top.role}", but the offer is allocated to role "${who.role}"; a framework reserves for the role of its offer`;
    }
    if (who.principal !== undefined && top.principal !== who.principal) {
      return `${what} has reservation principal ${JSON.stringify(top.principal ?? null)}, but the framework's principal is "${who.principal}"`;
    }
    if (stack.length > 1 && !who.refinement) {
      return `${what} refines a reservation of role "${stack[stack.length - 2]!.role}", which needs the RESERVATION_REFINEMENT capability`;
    }
  }
  return { from: resources.popReservation(), to: resources };
}

/** UNRESERVE: `resources` are reserved ones, each with a DYNAMIC reservation on top, which goes. */
export function unreserveConversion(resources: Resources, field: string): Conversion | string {
  if (resources.isEmpty()) return `'${field}' lists no resources to unreserve`;
  for (const [i, r] of resources.toWire().entries()) {
    const top = r.reservations?.[r.reservations.length - 1];
    const what = `'${field}' resource ${i} (${r.name})`;
    if (top === undefined) return `${what} is not reserved`;
    if (top.type !== 'DYNAMIC') return `${what} is reserved statically (by the agent's --resources); only dynamic reservations can be unreserved`;
  }
  return { from: resources, to: resources.popReservation() };
}

// ---- operator (RESERVE_RESOURCES, UNRESERVE_RESOURCES, /reserve, /unreserve) ----

export function operatorReserve(ctx: MasterContext, agentId: string, wire: Resource[] | undefined, source: Resource[] | undefined): 202 | AgoraError {
  const resources = decodeOperatorResources(wire, 'resources');
  if (resources instanceof AgoraError) return resources;
  const conversion = reserveConversion(resources, 'resources', { refinement: true });
  if (typeof conversion === 'string') return bad(conversion);
  if (source !== undefined) {
    const given = decodeOperatorResources(source, 'source');
    if (given instanceof AgoraError) return given;
    if (!given.equals(conversion.from)) {
      return bad(`'source' (${given}) must be the resources before the reservation (${conversion.from}); or leave it out`);
    }
  }
  return applyOnAgent(ctx, agentId, conversion, 'reserve');
}

export function operatorUnreserve(ctx: MasterContext, agentId: string, wire: Resource[] | undefined): 202 | AgoraError {
  const resources = decodeOperatorResources(wire, 'resources');
  if (resources instanceof AgoraError) return resources;
  const conversion = unreserveConversion(resources, 'resources');
  if (typeof conversion === 'string') return bad(conversion);
  return applyOnAgent(ctx, agentId, conversion, 'unreserve');
}

function decodeOperatorResources(wire: Resource[] | undefined, field: string): Resources | AgoraError {
  const decoded = Resources.tryFromWire(wire ?? []);
  if ('error' in decoded) return bad(`'${field}': ${decoded.error}`);
  if (!decoded.allocations().has(undefined) && !decoded.isEmpty()) {
    return bad(`'${field}' must not carry allocation_info: an operator reserves resources that are not allocated`);
  }
  return decoded;
}

/**
 * Applies an operator's conversion to unallocated resources of the agent, rescinding offers
 * that hold them (facts 3.1); 409 when tasks use them or the agent does not have them.
 */
function applyOnAgent(ctx: MasterContext, agentId: string, conversion: Conversion, verb: string): 202 | AgoraError {
  const agent = ctx.state.agents.get(agentId);
  if (agent === undefined) return bad(`No agent found with ID ${agentId}`);
  if (!agent.total.contains(conversion.from)) {
    return conflict(`agent ${agentId} does not have ${conversion.from} to ${verb}; it has ${agent.total}`);
  }
  for (const offerId of [...agent.offers]) {
    if (ctx.allocator.available(agentId).contains(conversion.from)) break;
    removeOffer(ctx, ctx.state.offers.get(offerId)!, { rescind: true, recover: true });
  }
  if (!ctx.allocator.updateAvailable(agentId, conversion.from, conversion.to)) {
    return conflict(`cannot ${verb} ${conversion.from} on agent ${agentId}: tasks use them; stop those tasks and try again`);
  }
  checkpointAgent(ctx, agent);
  ctx.count(`master/operations/${verb}/finished`);
  requestAllocation(ctx, agentId);
  return 202;
}

// ---- frameworks (RESERVE and UNRESERVE in ACCEPT) ----

/** Applies a framework's RESERVE or UNRESERVE to what its offers hold; returns what is left of them. */
export function applyReservationOperation(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  role: string,
  remaining: Resources,
  operation: OfferOperation,
): Resources {
  const reserve = operation.type === 'RESERVE';
  const field = reserve ? 'reserve.resources' : 'unreserve.resources';
  const wire = (reserve ? operation.reserve?.resources : operation.unreserve?.resources) ?? [];
  // As Mesos: the offer's allocation_info is filled in where the scheduler left it out.
  const decoded = Resources.tryFromWire(wire.map((r) => (r.allocation_info === undefined ? { ...r, allocation_info: { role } } : r)));
  let outcome: Conversion | string;
  if ('error' in decoded) outcome = `'${field}': ${decoded.error}`;
  else if ([...decoded.allocations().keys()].some((r) => r !== role)) outcome = `'${field}' must be allocated to the offer's role "${role}"`;
  else if (reserve) {
    const principal = framework.info.principal;
    const who = { role, refinement: hasCapability(framework.info, 'RESERVATION_REFINEMENT'), ...(principal === undefined ? {} : { principal }) };
    outcome = reserveConversion(decoded.unallocated(), field, who);
  } else {
    outcome = unreserveConversion(decoded.unallocated(), field);
  }
  if (typeof outcome !== 'string' && !remaining.contains(outcome.from.allocatedTo(role))) {
    outcome = `the offers do not hold ${outcome.from} to ${reserve ? 'reserve' : 'unreserve'} (they hold ${remaining.unallocated()})`;
  }
  const verb = operation.type.toLowerCase();
  if (typeof outcome === 'string') {
    reportOperation(ctx, framework, agent, operation, 'OPERATION_ERROR', outcome);
    ctx.count(`master/operations/${verb}/error`);
    return remaining;
  }
  const from = outcome.from.allocatedTo(role);
  const to = outcome.to.allocatedTo(role);
  ctx.allocator.updateAllocation(framework.id, agent.id, from, to);
  checkpointAgent(ctx, agent);
  reportOperation(ctx, framework, agent, operation, 'OPERATION_FINISHED');
  ctx.count(`master/operations/${verb}/finished`);
  return remaining.subtract(from).add(to);
}

function reportOperation(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  operation: OfferOperation,
  state: 'OPERATION_ERROR' | 'OPERATION_FINISHED',
  message?: string,
): void {
  if (operation.id === undefined) return;
  ctx.sendToFramework(framework, {
    type: 'UPDATE_OPERATION_STATUS',
    update_operation_status: {
      status: { operation_id: operation.id, state, ...(message === undefined ? {} : { message }), agent_id: { value: agent.id } },
    },
  });
}

/**
 * The agent's total follows the allocator's, and the agent is told to checkpoint it. An agent
 * that misses this (disconnected) is brought up to date when it subscribes again.
 */
export function checkpointAgent(ctx: MasterContext, agent: AgentRecord): void {
  agent.total = ctx.allocator.total(agent.id);
  ctx.sendToAgent(agent, { type: 'CHECKPOINT_RESOURCES', checkpoint_resources: { resources: agent.total.toWire() } });
}

function bad(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}

function conflict(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_CONFLICT', message);
}
