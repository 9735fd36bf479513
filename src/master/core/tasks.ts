/**
 * Tasks as the master tracks them: creation at launch, state changes from agents and from the
 * master itself, recovery of their resources at the first terminal state, and retirement to
 * the completed list once the terminal update is acknowledged (or needs no acknowledgement).
 */
import { hasCapability, isTerminalState } from '../../api/index.js';
import type { TaskState, TaskStatus, TaskStatusReason } from '../../api/index.js';
import { requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';
import type { FrameworkRecord, StatusRecord, TaskRecord } from './state.js';

/** A status the master itself produces: no uuid, so frameworks never acknowledge it. */
export function masterStatus(
  ctx: MasterContext,
  task: { taskId: string; agentId?: string },
  state: TaskState,
  reason: TaskStatusReason | undefined,
  message: string,
): TaskStatus {
  return {
    task_id: { value: task.taskId },
    state,
    source: 'SOURCE_MASTER',
    ...(reason === undefined ? {} : { reason }),
    message,
    ...(task.agentId === undefined ? {} : { agent_id: { value: task.agentId } }),
    timestamp: ctx.nowSeconds(),
  };
}

/** TASK_LOST stands in for the partition-aware states for frameworks that did not opt in. */
export function stateFor(framework: FrameworkRecord | undefined, partitionAwareState: TaskState): TaskState {
  if (framework !== undefined && hasCapability(framework.info, 'PARTITION_AWARE')) return partitionAwareState;
  return 'TASK_LOST';
}

export function findTask(ctx: MasterContext, frameworkId: string, taskId: string): TaskRecord | undefined {
  return ctx.state.frameworks.get(frameworkId)?.tasks.get(taskId);
}

/** Tracks a task the master just placed on an agent (TASK_STAGING), counted as launched. */
export function addStagingTask(ctx: MasterContext, at: Pick<TaskRecord, 'info' | 'frameworkId' | 'agentId' | 'role' | 'resources'>): void {
  addTask(ctx, { ...at, state: 'TASK_STAGING', statuses: [], resourcesRecovered: false });
}

/** Tracks a task; `launched: false` for one an agent reports again, which was counted when launched. */
export function addTask(ctx: MasterContext, task: TaskRecord, { launched = true }: { launched?: boolean } = {}): void {
  const framework = ctx.state.frameworks.get(task.frameworkId);
  const agent = ctx.state.agents.get(task.agentId);
  framework?.tasks.set(task.info.task_id.value, task);
  if (agent !== undefined) {
    let byFramework = agent.tasks.get(task.frameworkId);
    if (byFramework === undefined) agent.tasks.set(task.frameworkId, (byFramework = new Map()));
    byFramework.set(task.info.task_id.value, task);
  }
  if (launched) ctx.count('master/tasks_launched');
}

/**
 * Applies a state change. Resources go back to the allocator as soon as the master learns of
 * a terminal state, even while earlier updates are still unacknowledged (facts 2.2).
 */
export function applyTaskState(ctx: MasterContext, task: TaskRecord, status: TaskStatus, latestState: TaskState): void {
  const wasTerminal = isTerminalState(task.state);
  task.state = latestState;
  task.statuses.push(statusRecord(status));
  if (!wasTerminal && isTerminalState(latestState)) {
    ctx.count(`master/${latestState.toLowerCase()}`.replace('master/task_', 'master/tasks_'));
    const source = (status.source ?? 'SOURCE_AGENT').toLowerCase();
    const reason = status.reason?.toLowerCase();
    if (reason !== undefined) ctx.count(`master/${latestState.toLowerCase()}/${source}/${reason}`);
  }
  if (isTerminalState(latestState) && !task.resourcesRecovered) {
    task.resourcesRecovered = true;
    if (ctx.state.agents.has(task.agentId) && ctx.state.frameworks.has(task.frameworkId)) {
      ctx.allocator.recoverResources(task.frameworkId, task.agentId, task.resources);
      requestAllocation(ctx, task.agentId);
    }
  }
}

/** Moves a task out of the active maps into its framework's bounded completed list. */
export function retireTask(ctx: MasterContext, task: TaskRecord): void {
  const framework = detachTask(ctx, task);
  if (framework === undefined) return;
  framework.completedTasks.push(task);
  const excess = framework.completedTasks.length - ctx.config.maxCompletedTasksPerFramework;
  if (excess > 0) framework.completedTasks.splice(0, excess);
}

/** Removes a task from its framework's and agent's active maps; returns the framework if it was there. */
export function detachTask(ctx: MasterContext, task: TaskRecord): FrameworkRecord | undefined {
  const taskId = task.info.task_id.value;
  const agent = ctx.state.agents.get(task.agentId);
  const onAgent = agent?.tasks.get(task.frameworkId);
  if (onAgent?.get(taskId) === task) {
    onAgent.delete(taskId);
    if (onAgent.size === 0) agent!.tasks.delete(task.frameworkId);
  }
  const framework = ctx.state.frameworks.get(task.frameworkId);
  if (framework === undefined || framework.tasks.get(taskId) !== task) return undefined;
  framework.tasks.delete(taskId);
  return framework;
}

/**
 * Ends a task by the master's own decision (framework removed, agent lost): the framework
 * hears of it once, without a uuid, and the task is retired at once.
 */
export function endTaskByMaster(
  ctx: MasterContext,
  task: TaskRecord,
  state: TaskState,
  reason: TaskStatusReason,
  message: string,
): void {
  if (!isTerminalState(task.state)) {
    const status = masterStatus(ctx, { taskId: task.info.task_id.value, agentId: task.agentId }, state, reason, message);
    applyTaskState(ctx, task, status, state);
    task.statusUpdateState = state;
    const framework = ctx.state.frameworks.get(task.frameworkId);
    if (framework !== undefined) ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
  }
  retireTask(ctx, task);
}

/** The state reconciliation reports for a task: the latest forwarded if any, else the latest known. */
export function reconciledState(task: TaskRecord): TaskState {
  return task.statusUpdateState ?? task.state;
}

/** Keeps what /state and reconciliation read, and drops the rest (uuid, message, data, source). */
function statusRecord(status: TaskStatus): StatusRecord {
  const record: StatusRecord = { state: status.state };
  if (status.timestamp !== undefined) record.timestamp = status.timestamp;
  if (status.healthy !== undefined) record.healthy = status.healthy;
  if (status.labels !== undefined) record.labels = status.labels;
  if (status.container_status !== undefined) record.container_status = status.container_status;
  if (status.unreachable_time !== undefined) record.unreachable_time = status.unreachable_time;
  return record;
}
