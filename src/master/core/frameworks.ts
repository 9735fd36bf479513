/**
 * Framework lifecycle: SUBSCRIBE (new, re-subscribe, failover to a new connection), UPDATE_FRAMEWORK,
 * disconnection and the failover timeout, heartbeats, and removal (TEARDOWN or timeout).
 */
import { AgoraError } from '../../base/index.js';
import { hasCapability } from '../../api/index.js';
import type { FrameworkInfo, SchedulerCall } from '../../api/index.js';
import { validateRole } from '../../resources/index.js';
import { removeOffers, requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';
import { releaseConnection } from './state.js';
import type { ConnectionId, FrameworkRecord } from './state.js';
import { forgetFrameworkExecutors } from './executors.js';
import { endTaskByMaster } from './tasks.js';

export const heartbeatTimer = (frameworkId: string) => `heartbeat:${frameworkId}`;
export const failoverTimer = (frameworkId: string) => `failover:${frameworkId}`;

export type SubscribeOutcome = { streamId: string; frameworkId?: string };

/** Validates roles of a FrameworkInfo; returns them, or a 400 that says what to fix. */
export function frameworkRoles(info: FrameworkInfo, suppressed: readonly string[] = []): string[] | AgoraError {
  const multiRole = hasCapability(info, 'MULTI_ROLE');
  if (!multiRole && info.roles !== undefined && info.roles.length > 0) {
    return bad("'framework_info.roles' needs the MULTI_ROLE capability; use 'framework_info.role' or add MULTI_ROLE");
  }
  if (multiRole && info.role !== undefined && info.role !== '*') {
    return bad("'framework_info.role' must not be set for a MULTI_ROLE framework; list roles in 'framework_info.roles'");
  }
  const roles = multiRole ? (info.roles ?? []) : [info.role ?? '*'];
  for (const role of roles) {
    const error = validateRole(role);
    if (error !== undefined) return bad(`'framework_info.roles': role "${role}" is invalid: ${error}`);
  }
  if (new Set(roles).size !== roles.length) return bad("'framework_info.roles' lists a role twice");
  for (const role of suppressed) {
    if (!roles.includes(role)) return bad(`'suppressed_roles' has "${role}", which is not one of the framework's roles`);
  }
  const timeout = info.failover_timeout;
  if (timeout !== undefined && !(timeout >= 0 && Number.isFinite(timeout))) {
    return bad(`'framework_info.failover_timeout' must be a non-negative number of seconds, got ${timeout}`);
  }
  return roles;
}

/** Returns the new stream's id, or the 400 to answer; nothing changes when it refuses. */
export function subscribeFramework(
  ctx: MasterContext,
  connection: ConnectionId,
  call: SchedulerCall,
): SubscribeOutcome | AgoraError {
  const subscribe = call.subscribe;
  if (subscribe === undefined) return bad("Expecting 'subscribe' to be present");
  const info = subscribe.framework_info;
  const requestedId = info.id?.value ?? call.framework_id?.value;
  if (info.id !== undefined && call.framework_id !== undefined && info.id.value !== call.framework_id.value) {
    return bad("'framework_id' differs from 'subscribe.framework_info.id'");
  }
  const suppressed = subscribe.suppressed_roles ?? [];
  const roles = frameworkRoles(info, suppressed);
  if (roles instanceof AgoraError) return roles;

  const streamId = ctx.ids.uuid();
  if (requestedId !== undefined && ctx.state.isRemovedFramework(requestedId)) {
    ctx.emit({
      kind: 'frameworkEvent',
      connection,
      event: { type: 'ERROR', error: { message: `Framework ${requestedId} has been removed; subscribe without an id` } },
    });
    ctx.emit({ kind: 'closeConnection', connection });
    return { streamId };
  }

  const existing = requestedId === undefined ? undefined : ctx.state.frameworks.get(requestedId);
  const framework = existing ?? addFramework(ctx, requestedId, info, roles, suppressed);
  if (existing !== undefined) resubscribe(ctx, existing, info, roles, suppressed);

  framework.connection = connection;
  framework.streamId = streamId;
  ctx.state.frameworkByConnection.set(connection, framework.id);
  ctx.allocator.activateFramework(framework.id);
  ctx.sendToFramework(framework, {
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: { value: framework.id },
      heartbeat_interval_seconds: ctx.config.heartbeatIntervalMs / 1000,
      master_info: ctx.config.masterInfo,
    },
  });
  ctx.setTimer(heartbeatTimer(framework.id), ctx.config.heartbeatIntervalMs);
  ctx.count('master/messages_register_framework');
  requestAllocation(ctx);
  return { streamId, frameworkId: framework.id };
}

function addFramework(
  ctx: MasterContext,
  requestedId: string | undefined,
  info: FrameworkInfo,
  roles: string[],
  suppressed: string[],
): FrameworkRecord {
  const id = requestedId ?? `${ctx.masterId}-${String(ctx.state.nextFrameworkNumber++).padStart(4, '0')}`;
  const record: FrameworkRecord = {
    id,
    info: { ...info, id: { value: id } },
    roles,
    registeredTimeMs: ctx.clock.realtimeMs(),
    tasks: new Map(),
    completedTasks: [],
    unreachableTasks: new Map(),
    offers: new Set(),
  };
  ctx.state.frameworks.set(id, record);
  ctx.allocator.addFramework(id, { roles, suppressedRoles: suppressed, active: false, reservationRefinement: refinement(info) });
  return record;
}

/** A known framework subscribes again: same id, new connection; its tasks are kept. */
function resubscribe(
  ctx: MasterContext,
  framework: FrameworkRecord,
  info: FrameworkInfo,
  roles: string[],
  suppressed: string[],
): void {
  if (framework.connection !== undefined) {
    // Only one subscription per framework: the newer one wins (facts 1.1).
    const old = framework.connection;
    ctx.emit({ kind: 'frameworkEvent', connection: old, event: { type: 'ERROR', error: { message: 'Framework failed over' } } });
    ctx.emit({ kind: 'closeConnection', connection: old });
    ctx.state.frameworkByConnection.delete(old);
    framework.connection = undefined;
  }
  removeOffers(ctx, framework.offers, { rescind: false, recover: true });
  ctx.cancelTimer(failoverTimer(framework.id));
  // Principal, user and checkpoint cannot change; on re-subscribe such changes are ignored (facts 1.2).
  framework.info = {
    ...info,
    id: { value: framework.id },
    user: framework.info.user,
    ...(framework.info.principal === undefined ? {} : { principal: framework.info.principal }),
    ...(framework.info.checkpoint === undefined ? {} : { checkpoint: framework.info.checkpoint }),
  };
  framework.roles = roles;
  framework.reregisteredTimeMs = ctx.clock.realtimeMs();
  framework.unregisteredTimeMs = undefined;
  ctx.allocator.updateFramework(framework.id, { roles, suppressedRoles: suppressed, reservationRefinement: refinement(info) });
  ctx.count('master/messages_reregister_framework');
}

/** UPDATE_FRAMEWORK: all or nothing; answers 200 once applied. */
export function updateFramework(ctx: MasterContext, framework: FrameworkRecord, call: SchedulerCall): AgoraError | undefined {
  const update = call.update_framework;
  if (update === undefined) return bad("Expecting 'update_framework' to be present");
  const info = update.framework_info;
  if (info.id?.value !== framework.id) {
    return bad("'update_framework.framework_info.id' must be set to the framework's id");
  }
  for (const field of ['principal', 'user', 'checkpoint'] as const) {
    if ((info[field] ?? undefined) !== (framework.info[field] ?? undefined)) {
      return bad(`'update_framework.framework_info.${field}' cannot be changed (was ${JSON.stringify(framework.info[field])})`);
    }
  }
  const suppressed = update.suppressed_roles ?? [];
  const roles = frameworkRoles(info, suppressed);
  if (roles instanceof AgoraError) return roles;
  const removedRoles = framework.roles.filter((r) => !roles.includes(r));
  framework.info = { ...info, id: { value: framework.id } };
  framework.roles = roles;
  ctx.allocator.updateFramework(framework.id, { roles, suppressedRoles: suppressed, reservationRefinement: refinement(info) });
  removeOffers(ctx, framework.offers, { rescind: true, recover: true }, (offer) => removedRoles.includes(offer.role));
  requestAllocation(ctx);
  return undefined;
}

/** The subscription stream closed: keep the framework until its failover timeout passes. */
export function frameworkDisconnected(ctx: MasterContext, connection: ConnectionId): void {
  const framework = releaseConnection(ctx.state.frameworkByConnection, ctx.state.frameworks, connection);
  if (framework === undefined) return;
  framework.unregisteredTimeMs = ctx.clock.realtimeMs();
  ctx.allocator.deactivateFramework(framework.id);
  ctx.cancelTimer(heartbeatTimer(framework.id));
  removeOffers(ctx, framework.offers, { rescind: false, recover: true });
  const timeoutMs = (framework.info.failover_timeout ?? 0) * 1000;
  if (timeoutMs <= 0) removeFramework(ctx, framework);
  else ctx.setTimer(failoverTimer(framework.id), Math.min(timeoutMs, 2 ** 31 - 1));
}

export function onHeartbeatTimer(ctx: MasterContext, frameworkId: string): void {
  const framework = ctx.state.frameworks.get(frameworkId);
  if (framework?.connection === undefined) return;
  ctx.sendToFramework(framework, { type: 'HEARTBEAT' });
  ctx.setTimer(heartbeatTimer(frameworkId), ctx.config.heartbeatIntervalMs);
}

export function onFailoverTimer(ctx: MasterContext, frameworkId: string): void {
  const framework = ctx.state.frameworks.get(frameworkId);
  if (framework === undefined || framework.connection !== undefined) return;
  removeFramework(ctx, framework);
}

/**
 * Removes a framework for good (TEARDOWN, or failover timeout): its stream closes, its
 * offers return to the pool, its tasks are killed on their agents and end TASK_KILLED.
 */
export function removeFramework(ctx: MasterContext, framework: FrameworkRecord): void {
  if (framework.connection !== undefined) {
    ctx.emit({ kind: 'closeConnection', connection: framework.connection });
    ctx.state.frameworkByConnection.delete(framework.connection);
    framework.connection = undefined;
  }
  ctx.cancelTimer(heartbeatTimer(framework.id));
  ctx.cancelTimer(failoverTimer(framework.id));
  removeOffers(ctx, framework.offers, { rescind: false, recover: true });
  // Agents that run its tasks or executors are told to shut it down; the allocator drops what they hold.
  const agentsWithTasks = forgetFrameworkExecutors(ctx, framework.id);
  for (const task of [...framework.tasks.values()]) {
    agentsWithTasks.add(task.agentId);
    endTaskByMaster(ctx, task, 'TASK_KILLED', 'REASON_FRAMEWORK_REMOVED', `Framework ${framework.id} removed`);
  }
  for (const agentId of agentsWithTasks) {
    const agent = ctx.state.agents.get(agentId);
    if (agent !== undefined) {
      ctx.sendToAgent(agent, { type: 'SHUTDOWN_FRAMEWORK', shutdown_framework: { framework_id: { value: framework.id } } });
    }
  }
  // Its unreachable tasks are done with too: if their agent comes back, they are shut down there.
  for (const task of framework.unreachableTasks.values()) framework.completedTasks.push(task);
  framework.unreachableTasks.clear();
  framework.completedTasks.splice(0, Math.max(0, framework.completedTasks.length - ctx.config.maxCompletedTasksPerFramework));
  ctx.allocator.removeFramework(framework.id);
  ctx.state.frameworks.delete(framework.id);
  framework.unregisteredTimeMs ??= ctx.clock.realtimeMs();
  ctx.state.completedFrameworks.push({ record: framework, removedTimeMs: ctx.clock.realtimeMs() });
  const excess = ctx.state.completedFrameworks.length - ctx.config.maxCompletedFrameworks;
  if (excess > 0) ctx.state.completedFrameworks.splice(0, excess);
  ctx.count('master/frameworks_removed');
  requestAllocation(ctx);
}

/** Whether offers may carry refined reservations (stacks deeper than one) for this framework. */
function refinement(info: FrameworkInfo): boolean {
  return hasCapability(info, 'RESERVATION_REFINEMENT');
}

function bad(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}
