/**
 * Agents the master loses (facts 7.3): pings and their timeouts, marking an agent unreachable,
 * an operator marking it gone (MARK_AGENT_GONE), and removing an agent that leaves. What comes
 * back when an unreachable agent re-registers is decided in agents.ts, with reregisteredStatus().
 */
import { AgoraError, assert } from '../../base/index.js';
import { hasCapability, isTerminalState } from '../../api/index.js';
import type { TaskState, TaskStatus, TaskStatusReason } from '../../api/index.js';
import { removeOffers } from './allocation.js';
import type { MasterContext } from './context.js';
import { forgetAgentExecutors } from './executors.js';
import type { OperatorReply } from './operator-calls.js';
import type { AgentRecord, FrameworkRecord, TaskRecord } from './state.js';
import { applyTaskState, detachTask, endTaskByMaster, masterStatus, stateFor } from './tasks.js';

export const pingTimer = (agentId: string) => `ping:${agentId}`;
export const reregisterTimer = (agentId: string) => `reregister:${agentId}`;
export const removalPermitTimer = (agentId: string) => `removal-permit:${agentId}`;

/** Mesos's ShutdownMessage text for an agent that was marked gone (and its answer if it comes back). */
export const MARKED_GONE_MESSAGE = 'Agent has been marked gone';

const NANOS_PER_MS = 1e6;

export function onPingTimer(ctx: MasterContext, agentId: string): void {
  const agent = ctx.state.agents.get(agentId);
  if (agent === undefined) return;
  if (agent.missedPings >= ctx.config.maxAgentPingTimeouts && !ctx.state.unreachableScheduled.has(agentId)) {
    ctx.count('master/slave_unreachable_scheduled');
    const waitMs = takeRemovalPermit(ctx);
    if (waitMs === 0) {
      markUnreachable(ctx, agent, `Agent ${agent.id} missed ${agent.missedPings} pings`);
      return;
    }
    // Rate limited: the agent is still pinged while it waits, and a pong meanwhile saves it (Mesos's SlaveObserver).
    ctx.state.unreachableScheduled.add(agentId);
    ctx.setTimer(removalPermitTimer(agentId), waitMs);
  }
  agent.missedPings++;
  // A disconnected agent cannot answer: its ping counts as missed, so a dead agent is unreachable
  // after the pings' total (75 s by default), not only after --agent_reregister_timeout (facts 7.3).
  if (agent.connection !== undefined) ctx.sendToAgent(agent, { type: 'PING' });
  ctx.setTimer(pingTimer(agentId), ctx.config.agentPingTimeoutMs);
}

/**
 * --agent_removal_rate_limit: how long until a removal permit is free (0: now), taking it.
 * Permits are spaced evenly, `intervalMs / permits` apart, as libprocess's RateLimiter.
 */
function takeRemovalPermit(ctx: MasterContext): number {
  const limit = ctx.config.agentRemovalRateLimit;
  if (limit === undefined) return 0;
  const nowMs = ctx.clock.monotonicMs();
  const atMs = Math.max(nowMs, ctx.state.nextRemovalPermitMs);
  ctx.state.nextRemovalPermitMs = atMs + limit.intervalMs / limit.permits;
  return atMs - nowMs;
}

/** A scheduled removal got its permit: the agent goes unless it answered a ping meanwhile. */
export function onRemovalPermitTimer(ctx: MasterContext, agentId: string): void {
  if (!ctx.state.unreachableScheduled.delete(agentId)) return;
  const agent = ctx.state.agents.get(agentId);
  if (agent === undefined) return;
  if (agent.connection !== undefined && agent.missedPings < ctx.config.maxAgentPingTimeouts) {
    ctx.count('master/slave_unreachable_canceled');
    return;
  }
  markUnreachable(ctx, agent, `Agent ${agent.id} missed ${agent.missedPings} pings`);
}

export function onPong(agent: AgentRecord): void {
  agent.missedPings = 0;
}

export function onReregisterTimer(ctx: MasterContext, agentId: string): void {
  const agent = ctx.state.agents.get(agentId);
  if (agent === undefined || agent.connection !== undefined) return;
  markUnreachable(ctx, agent, `Agent ${agent.id} did not re-register in time`);
}

/**
 * A lost agent (facts 7.3): stored as unreachable first; then every task is reported
 * TASK_UNREACHABLE to partition-aware frameworks and TASK_LOST to the others, with
 * REASON_AGENT_REMOVED and the unreachable time. As Mesos (1.5+) does, the tasks of both kinds
 * are kept as unreachable tasks: the agent may come back with them running.
 */
export function markUnreachable(ctx: MasterContext, agent: AgentRecord, message: string): void {
  const nowMs = ctx.clock.realtimeMs();
  ctx.emit({ kind: 'persist', operation: { type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: agent.id }, timestamp: { nanoseconds: nowMs * NANOS_PER_MS } } });
  for (const [frameworkId, tasks] of [...agent.tasks]) {
    const framework = ctx.state.frameworks.get(frameworkId);
    for (const task of [...tasks.values()]) {
      if (framework !== undefined) keepUnreachable(ctx, framework, task, nowMs, message);
      else endTaskByMaster(ctx, task, 'TASK_LOST', 'REASON_AGENT_REMOVED', message);
    }
  }
  ctx.state.unreachableAgents.set(agent.id, { id: agent.id, hostname: agent.hostname, sinceMs: nowMs });
  dropAgent(ctx, agent);
  ctx.count('master/slave_unreachable_completed');
}

function keepUnreachable(ctx: MasterContext, framework: FrameworkRecord, task: TaskRecord, nowMs: number, message: string): void {
  const state = stateFor(framework, 'TASK_UNREACHABLE');
  const status = {
    ...masterStatus(ctx, { taskId: task.info.task_id.value, agentId: task.agentId }, state, 'REASON_AGENT_REMOVED', message),
    unreachable_time: { nanoseconds: nowMs * NANOS_PER_MS },
  };
  // A task that had already ended keeps its state; the framework hears of the partition all the same.
  if (!isTerminalState(task.state)) applyTaskState(ctx, task, status, state);
  task.resourcesRecovered = true;
  task.statusUpdateState = state;
  ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
  detachTask(ctx, task);
  framework.unreachableTasks.set(task.info.task_id.value, task);
}

/**
 * MARK_AGENT_GONE (facts 3.1, 7.3): the agent is stored as gone before anyone hears of it; a
 * registered agent is told to shut down and its tasks end TASK_GONE_BY_OPERATOR (TASK_LOST for
 * frameworks that are not partition-aware) with REASON_AGENT_REMOVED_BY_OPERATOR. An agent
 * already gone is answered 200 again; one the master never knew, 404.
 */
export function markAgentGone(ctx: MasterContext, agentId: string): OperatorReply {
  const { state } = ctx;
  if (state.goneAgents.has(agentId)) return { status: 200 };
  const agent = state.agents.get(agentId);
  if (agent === undefined && !state.unreachableAgents.has(agentId) && !state.recoveredAgents.has(agentId)) {
    return new AgoraError('AGORA_ERR_NOT_FOUND', `Agent '${agentId}' not found; GET_AGENTS lists the agents the master knows`);
  }
  const nowMs = ctx.clock.realtimeMs();
  ctx.emit({ kind: 'persist', operation: { type: 'MARK_AGENT_GONE', agent_id: { value: agentId }, timestamp: { nanoseconds: nowMs * NANOS_PER_MS } } });
  state.goneAgents.set(agentId, { id: agentId, sinceMs: nowMs });
  state.recoveredAgents.delete(agentId);
  const message = `Agent ${agentId} was marked gone by the operator`;
  if (agent !== undefined) {
    ctx.sendToAgent(agent, { type: 'SHUTDOWN', shutdown: { message: MARKED_GONE_MESSAGE } });
    for (const [frameworkId, tasks] of [...agent.tasks]) {
      const framework = state.frameworks.get(frameworkId);
      for (const task of [...tasks.values()]) {
        endTaskByMaster(ctx, task, stateFor(framework, 'TASK_GONE_BY_OPERATOR'), 'REASON_AGENT_REMOVED_BY_OPERATOR', message);
      }
    }
    dropAgent(ctx, agent);
    ctx.count('master/slave_removals');
  } else if (state.unreachableAgents.delete(agentId)) {
    // Partition-aware frameworks learn at once that their unreachable tasks there are gone for
    // good (Mesos leaves that to reconciliation); the others already heard TASK_LOST.
    for (const framework of state.frameworks.values()) {
      for (const task of [...framework.unreachableTasks.values()]) {
        if (task.agentId !== agentId) continue;
        framework.unreachableTasks.delete(task.info.task_id.value);
        if (hasCapability(framework.info, 'PARTITION_AWARE') && !isTerminalState(task.state)) {
          const status = masterStatus(ctx, { taskId: task.info.task_id.value, agentId }, 'TASK_GONE_BY_OPERATOR', 'REASON_AGENT_REMOVED_BY_OPERATOR', message);
          applyTaskState(ctx, task, status, 'TASK_GONE_BY_OPERATOR');
          task.statusUpdateState = 'TASK_GONE_BY_OPERATOR';
          ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
        }
        retireCompleted(ctx, framework, task);
      }
    }
  }
  return { status: 200 };
}

/**
 * An unreachable agent re-registered without some of the tasks the master kept as unreachable
 * there: those tasks are gone (they ended while it was away, and it no longer knows them).
 * Partition-aware frameworks, which heard TASK_UNREACHABLE, now hear TASK_GONE with
 * REASON_RECONCILIATION, as Mesos's master tells of tasks unknown to a re-registered agent;
 * the others already heard TASK_LOST, which stands. Left unreachable, they would be reconciled
 * TASK_UNREACHABLE for ever (found by the chaos test, seed 21).
 */
export function endUnreportedUnreachableTasks(ctx: MasterContext, agentId: string, reported: ReadonlySet<string>): void {
  for (const framework of ctx.state.frameworks.values()) {
    for (const task of [...framework.unreachableTasks.values()]) {
      const taskId = task.info.task_id.value;
      if (task.agentId !== agentId || reported.has(`${framework.id}/${taskId}`)) continue;
      framework.unreachableTasks.delete(taskId);
      if (hasCapability(framework.info, 'PARTITION_AWARE') && !isTerminalState(task.state)) {
        const message = `Task is unknown to agent ${agentId}, which re-registered`;
        const status = masterStatus(ctx, { taskId, agentId }, 'TASK_GONE', 'REASON_RECONCILIATION', message);
        applyTaskState(ctx, task, status, 'TASK_GONE');
        task.statusUpdateState = 'TASK_GONE';
        ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
      }
      retireCompleted(ctx, framework, task);
    }
  }
}

function retireCompleted(ctx: MasterContext, framework: FrameworkRecord, task: TaskRecord): void {
  framework.completedTasks.push(task);
  const excess = framework.completedTasks.length - ctx.config.maxCompletedTasksPerFramework;
  if (excess > 0) framework.completedTasks.splice(0, excess);
}

/**
 * What a framework hears of its task when an agent the master had lost (unreachable, or
 * unknown to it) re-registers with the task: its state as the agent reports it, from the
 * master, REASON_AGENT_REREGISTERED, without a uuid (Mesos's __reregisterSlave).
 */
export function reregisteredStatus(ctx: MasterContext, agentId: string, task: TaskRecord, wasUnreachable: boolean): TaskStatus {
  const message = wasUnreachable ? 'Unreachable agent re-registered' : 'Unknown agent re-registered';
  const status = masterStatus(ctx, { taskId: task.info.task_id.value, agentId }, task.state, 'REASON_AGENT_REREGISTERED', message);
  if (task.info.executor?.executor_id !== undefined) status.executor_id = task.info.executor.executor_id;
  return status;
}

/** An agent leaves for good (it unsubscribed, or restarted as a new agent). */
export function removeAgent(
  ctx: MasterContext,
  agent: AgentRecord,
  partitionAwareState: TaskState,
  reason: TaskStatusReason,
  message: string,
): void {
  ctx.emit({ kind: 'persist', operation: { type: 'REMOVE_AGENT', agent_id: { value: agent.id } } });
  for (const [frameworkId, tasks] of [...agent.tasks]) {
    const framework = ctx.state.frameworks.get(frameworkId);
    for (const task of [...tasks.values()]) endTaskByMaster(ctx, task, stateFor(framework, partitionAwareState), reason, message);
  }
  dropAgent(ctx, agent);
  ctx.count('master/slave_removals');
}

function dropAgent(ctx: MasterContext, agent: AgentRecord): void {
  assert([...agent.tasks.values()].every((t) => t.size === 0), `agent ${agent.id} dropped with tasks`);
  detachAgent(ctx, agent);
  ctx.cancelTimer(pingTimer(agent.id));
  ctx.cancelTimer(reregisterTimer(agent.id));
  if (ctx.state.unreachableScheduled.delete(agent.id)) ctx.cancelTimer(removalPermitTimer(agent.id));
  rescindAgentOffers(ctx, agent);
  ctx.allocator.removeAgent(agent.id);
  forgetAgentExecutors(ctx, agent.id);
  ctx.state.agents.delete(agent.id);
  for (const framework of ctx.state.frameworks.values()) {
    ctx.sendToFramework(framework, { type: 'FAILURE', failure: { agent_id: { value: agent.id } } });
  }
}

/** Drops an agent's stream (it is closed after the events already queued on it). */
export function detachAgent(ctx: MasterContext, agent: AgentRecord): void {
  if (agent.connection === undefined) return;
  ctx.emit({ kind: 'closeConnection', connection: agent.connection });
  ctx.state.agentByConnection.delete(agent.connection);
  agent.connection = undefined;
}

export function rescindAgentOffers(ctx: MasterContext, agent: AgentRecord): void {
  removeOffers(ctx, agent.offers, { rescind: true, recover: true });
}
