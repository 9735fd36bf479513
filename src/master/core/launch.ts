/**
 * ACCEPT and DECLINE: offers are checked as a set, then the operations are applied in order
 * against what the offers hold, and whatever is left goes back with the framework's filter.
 * A task that cannot run is answered TASK_ERROR with the reason; it never reaches an agent.
 */
import type { ExecutorInfo, OfferOperation, SchedulerCall, TaskInfo, TaskState } from '../../api/index.js';
import { invalidTaskChecks } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { removeOffer, requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';
import { addExecutor, checkExecutorInfo, normalizedExecutor } from './executors.js';
import { applyReservationOperation } from './reservations.js';
import { launchGroup } from './task-groups.js';
import type { AgentRecord, FrameworkRecord, OfferRecord } from './state.js';
import { addStagingTask, masterStatus, stateFor } from './tasks.js';

const DEFAULT_REFUSE_SECONDS = 5;
const MAX_REFUSE_SECONDS = 31_536_000;

/** Filters.refuse_seconds as Mesos reads it: default 5, negative means default, capped at a year. */
export function refuseSeconds(filters: { refuse_seconds?: number } | undefined): number {
  const value = filters?.refuse_seconds;
  if (value === undefined || Number.isNaN(value) || value < 0) return DEFAULT_REFUSE_SECONDS;
  return Math.min(value, MAX_REFUSE_SECONDS);
}

export function declineOffers(ctx: MasterContext, framework: FrameworkRecord, call: NonNullable<SchedulerCall['decline']>): void {
  const seconds = refuseSeconds(call.filters);
  for (const { value } of call.offer_ids ?? []) {
    const offer = ctx.state.offers.get(value);
    if (offer !== undefined && offer.frameworkId === framework.id) {
      removeOffer(ctx, offer, { rescind: false, recover: true, refuseSeconds: seconds });
    }
  }
  ctx.count('master/messages_decline_offers');
}

export function acceptOffers(ctx: MasterContext, framework: FrameworkRecord, call: NonNullable<SchedulerCall['accept']>): void {
  ctx.count('master/messages_accept_offers');
  const ids = (call.offer_ids ?? []).map((id) => id.value);
  const offers = ids.map((id) => ctx.state.offers.get(id));
  const invalid = checkOffers(framework, ids, offers);
  const operations = call.operations ?? [];
  if (invalid !== undefined) {
    for (const offer of offers) {
      if (offer !== undefined && offer.frameworkId === framework.id) removeOffer(ctx, offer, { rescind: false, recover: true });
    }
    for (const task of launchedTasks(operations)) {
      dropTask(ctx, framework, task, stateFor(framework, 'TASK_DROPPED'), 'REASON_INVALID_OFFERS', invalid);
    }
    return;
  }
  const valid = offers as OfferRecord[];
  for (const offer of valid) removeOffer(ctx, offer, { rescind: false, recover: false });
  const agent = ctx.state.agents.get(valid[0]!.agentId)!;
  const role = valid[0]!.role;
  let remaining = valid.reduce((sum, offer) => sum.add(offer.resources), Resources.empty());

  for (const operation of operations) {
    remaining = applyOperation(ctx, framework, agent, role, remaining, operation);
  }
  if (!remaining.isEmpty()) {
    ctx.allocator.recoverResources(framework.id, agent.id, remaining, refuseSeconds(call.filters));
    requestAllocation(ctx, agent.id);
  }
}

function checkOffers(framework: FrameworkRecord, ids: string[], offers: (OfferRecord | undefined)[]): string | undefined {
  if (ids.length === 0) return 'No offers were given in accept.offer_ids';
  if (new Set(ids).size !== ids.length) return 'An offer id appears more than once in accept.offer_ids';
  for (let i = 0; i < ids.length; i++) {
    const offer = offers[i];
    if (offer === undefined) return `Offer ${ids[i]} is no longer valid`;
    if (offer.frameworkId !== framework.id) return `Offer ${ids[i]} is not an offer to framework ${framework.id}`;
  }
  const first = offers[0]!;
  if (offers.some((o) => o!.agentId !== first.agentId)) return 'Aggregated offers must belong to one single agent';
  if (offers.some((o) => o!.role !== first.role)) return 'Aggregated offers must be allocated to the same role';
  return undefined;
}

function launchedTasks(operations: OfferOperation[]): TaskInfo[] {
  return operations.flatMap((op) => [...(op.launch?.task_infos ?? []), ...(op.launch_group?.task_group.tasks ?? [])]);
}

/** Applies one operation and returns what is left of the offered resources. */
function applyOperation(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  role: string,
  remaining: Resources,
  operation: OfferOperation,
): Resources {
  switch (operation.type) {
    case 'LAUNCH': {
      const seen = new Set<string>();
      const launch = { remaining, available: remaining.unallocated() };
      for (const task of operation.launch?.task_infos ?? []) {
        launchTask(ctx, framework, agent, role, launch, task, seen, operation.id !== undefined);
      }
      return launch.remaining;
    }
    case 'RESERVE':
    case 'UNRESERVE':
      return applyReservationOperation(ctx, framework, agent, role, remaining, operation);
    case 'LAUNCH_GROUP':
      return launchGroup(ctx, framework, agent, role, remaining, operation);
    default:
      if (operation.id !== undefined) {
        ctx.sendToFramework(framework, {
          type: 'UPDATE_OPERATION_STATUS',
          update_operation_status: {
            status: {
              operation_id: operation.id,
              state: 'OPERATION_ERROR',
              message: `Offer operation ${operation.type} is not supported by this agora version yet`,
              agent_id: { value: agent.id },
            },
          },
        });
      }
      ctx.count(`master/operations/${operation.type.toLowerCase()}/unsupported`);
      return remaining;
  }
}

/** What is left of the offers while an ACCEPT's tasks are placed, with and without allocation_info. */
interface LaunchBudget {
  remaining: Resources;
  available: Resources;
}

function launchTask(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  role: string,
  budget: LaunchBudget,
  task: TaskInfo,
  seen: Set<string>,
  hasOperationId: boolean,
): void {
  const taskId = task.task_id.value;
  const checked = checkTask(ctx, framework, agent, budget.available, task, seen, hasOperationId);
  seen.add(taskId);
  if (typeof checked === 'string') {
    dropTask(ctx, framework, task, 'TASK_ERROR', 'REASON_TASK_INVALID', checked);
    return;
  }
  const resources = checked.task.allocatedTo(role);
  // The record keeps resources once, as a value; the wire form is rebuilt when it is needed.
  const { resources: _wire, ...rest } = task;
  const executor = checked.executor;
  const info = executor === undefined ? rest : { ...rest, executor: normalizedExecutor(executor.info, framework.id, executor.resources, role) };
  if (executor?.isNew === true) addExecutor(ctx, agent, info.executor!, role, executor.resources);
  addStagingTask(ctx, { info, frameworkId: framework.id, agentId: agent.id, role, resources });
  ctx.sendToAgent(agent, {
    type: 'RUN_TASK',
    run_task: { framework_id: { value: framework.id }, framework_info: framework.info, task: { ...info, resources: resources.toWire() } },
  });
  ctx.count('master/messages_launch_tasks');
  const used = executor?.isNew === true ? checked.task.add(executor.resources) : checked.task;
  budget.remaining = budget.remaining.subtract(used.allocatedTo(role));
  budget.available = budget.available.subtract(used);
}

/** A task that may launch: its resources and, with a custom executor, the executor's (charged only when new). */
interface CheckedTask {
  task: Resources;
  executor?: { info: ExecutorInfo; resources: Resources; isNew: boolean };
}

/** Returns the task's resources when it may launch, or the reason it may not. */
function checkTask(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  available: Resources,
  task: TaskInfo,
  seen: Set<string>,
  hasOperationId: boolean,
): CheckedTask | string {
  if (hasOperationId) return "Offer operation 'id' must not be set for LAUNCH (operation feedback is not available for launches)";
  const common = checkTaskFields(ctx, framework, agent, task, seen);
  if (typeof common === 'string') return common;
  if ((task.command === undefined) === (task.executor === undefined)) {
    return "Task must have exactly one of 'command' or 'executor' set";
  }
  if (task.executor !== undefined) return checkCustomExecutor(ctx, framework, agent, available, task.executor, common);
  if ((task.command?.value ?? '') === '' && !(task.command?.shell === false && hasImage(task))) {
    // With shell=false and an image, an empty value leaves the command to the image's Entrypoint/Cmd.
    return "Task's 'command.value' must be set (it may be empty only with 'shell': false and a container image)";
  }
  if (!available.contains(common.unallocated())) {
    return `Task uses more resources ${common.unallocated().toString()} than available ${available.toString()}`;
  }
  return { task: common.unallocated() };
}

/**
 * What every task is checked for, in a LAUNCH or a LAUNCH_GROUP (Mesos's task::internal::validateTask):
 * its agent, a unique id, kill policy, max completion time and resources. Returns its resources.
 */
export function checkTaskFields(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  task: TaskInfo,
  seen: ReadonlySet<string>,
): Resources | string {
  const taskId = task.task_id.value;
  if (task.agent_id.value !== agent.id) return `Task uses agent ${task.agent_id.value}, but the offer is for agent ${agent.id}`;
  if (framework.tasks.has(taskId) || framework.unreachableTasks.has(taskId) || seen.has(taskId)) {
    return `Task has a duplicate ID: ${taskId}`;
  }
  const grace = task.kill_policy?.grace_period?.nanoseconds;
  if (grace !== undefined && grace < 0) return "Task's 'kill_policy.grace_period' must not be negative";
  const maxCompletion = task.max_completion_time?.nanoseconds;
  if (maxCompletion !== undefined && maxCompletion < 0) return "Task's 'max_completion_time' must not be negative";
  const invalidChecks = invalidTaskChecks(task);
  if (invalidChecks !== undefined) return invalidChecks;
  const resources = ctx.internResources(task.resources ?? []);
  if ('error' in resources) return `Task's resources are invalid: ${resources.error}`;
  if (resources.isEmpty()) return 'Task uses no resources; give it at least some cpus or mem';
  const gpus = resources.scalar('gpus');
  if (!Number.isInteger(gpus)) return `Task asks for ${gpus} gpus; gpus must be whole numbers`;
  return resources;
}

/** A LAUNCH with TaskInfo.executor: a custom executor, new on this agent or already running there. */
function checkCustomExecutor(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  available: Resources,
  executor: ExecutorInfo,
  taskResources: Resources,
): CheckedTask | string {
  const info = { ...executor, framework_id: executor.framework_id ?? { value: framework.id } };
  const resources = checkExecutorInfo(ctx, framework, agent, info);
  if (typeof resources === 'string') return resources;
  if (info.type !== undefined && info.type !== 'CUSTOM') return "'ExecutorInfo.type' must be 'CUSTOM' for a LAUNCH; task groups (LAUNCH_GROUP) use 'DEFAULT'";
  if (info.command === undefined) return "'ExecutorInfo.command' must be set";
  const isNew = ctx.state.executors.get(agent.id, framework.id, info.executor_id.value) === undefined;
  const total = isNew ? taskResources.unallocated().add(resources.unallocated()) : taskResources.unallocated();
  if (!available.contains(total)) {
    return `Total resources ${total.toString()} required by task and its executor is more than available ${available.toString()}`;
  }
  return { task: taskResources.unallocated(), executor: { info, resources: resources.unallocated(), isNew } };
}

export function dropTask(
  ctx: MasterContext,
  framework: FrameworkRecord,
  task: TaskInfo,
  state: TaskState,
  reason: 'REASON_TASK_INVALID' | 'REASON_TASK_GROUP_INVALID' | 'REASON_INVALID_OFFERS',
  message: string,
): void {
  const status = masterStatus(ctx, { taskId: task.task_id.value, agentId: task.agent_id.value }, state, reason, message);
  ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
  ctx.count(`master/${state.toLowerCase().replace('task_', 'tasks_')}`);
  ctx.count(`master/${state.toLowerCase()}/source_master/${reason.toLowerCase()}`);
}

export function hasImage(task: TaskInfo): boolean {
  const container = task.container as { mesos?: { image?: unknown } } | undefined;
  return container?.mesos?.image !== undefined;
}
