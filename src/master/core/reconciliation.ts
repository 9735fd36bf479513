/**
 * Task reconciliation (facts 5.3). Implicit: the latest state of every task the master tracks
 * for the framework. Explicit: per task, the decision table, so a framework learns the truth
 * about tasks the master has never heard of.
 */
import type { SchedulerCall, TaskState, TaskStatus } from '../../api/index.js';
import type { MasterContext } from './context.js';
import type { FrameworkRecord, TaskRecord } from './state.js';
import { masterStatus, reconciledState, stateFor } from './tasks.js';

export function reconcileTasks(ctx: MasterContext, framework: FrameworkRecord, call: NonNullable<SchedulerCall['reconcile']>): void {
  ctx.count('master/messages_reconcile_tasks');
  const requested = call.tasks ?? [];
  if (requested.length === 0) {
    for (const task of [...framework.tasks.values(), ...framework.unreachableTasks.values()]) {
      send(ctx, framework, knownTaskStatus(ctx, task));
    }
    return;
  }
  for (const { task_id, agent_id } of requested) {
    const status = explicitStatus(ctx, framework, task_id.value, agent_id?.value);
    if (status !== undefined) send(ctx, framework, status);
  }
}

/** The status explicit reconciliation (or a KILL of an unknown task) answers; undefined = answer later. */
export function explicitStatus(
  ctx: MasterContext,
  framework: FrameworkRecord,
  taskId: string,
  agentId: string | undefined,
): TaskStatus | undefined {
  const known = framework.tasks.get(taskId) ?? framework.unreachableTasks.get(taskId);
  if (known !== undefined) return knownTaskStatus(ctx, known);
  const { state } = ctx;
  if (agentId === undefined ? state.recoveredAgents.size > 0 : state.recoveredAgents.has(agentId)) {
    return undefined; // The agent may still re-register with this task.
  }
  const answer = (pa: TaskState, extra: Partial<TaskStatus> = {}): TaskStatus => ({
    ...masterStatus(ctx, { taskId, ...(agentId === undefined ? {} : { agentId }) }, stateFor(framework, pa), 'REASON_RECONCILIATION', ''),
    ...extra,
  });
  if (agentId !== undefined && state.agents.has(agentId)) return strip(answer('TASK_GONE'));
  const unreachable = agentId === undefined ? undefined : state.unreachableAgents.get(agentId);
  if (unreachable !== undefined) {
    return strip(answer('TASK_UNREACHABLE', { unreachable_time: { nanoseconds: unreachable.sinceMs * 1e6 } }));
  }
  if (agentId !== undefined && state.goneAgents.has(agentId)) return strip(answer('TASK_GONE_BY_OPERATOR'));
  return strip(answer('TASK_UNKNOWN'));
}

function knownTaskStatus(ctx: MasterContext, task: TaskRecord): TaskStatus {
  const latest = task.statuses[task.statuses.length - 1];
  const status: TaskStatus = {
    ...masterStatus(ctx, { taskId: task.info.task_id.value, agentId: task.agentId }, reconciledState(task), 'REASON_RECONCILIATION', ''),
  };
  if (latest?.healthy !== undefined) status.healthy = latest.healthy;
  if (latest?.container_status !== undefined) status.container_status = latest.container_status;
  if (latest?.unreachable_time !== undefined) status.unreachable_time = latest.unreachable_time;
  return strip(status);
}

/** Reconciliation answers carry no message and no data (facts 5.3). */
function strip(status: TaskStatus): TaskStatus {
  delete status.message;
  delete status.data;
  return status;
}

function send(ctx: MasterContext, framework: FrameworkRecord, status: TaskStatus): void {
  ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
}
