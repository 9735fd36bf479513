/**
 * LAUNCH_GROUP (facts 1.5, 8.5): the tasks of a group start together on one agent under one
 * executor (the default executor, or a custom one), or not at all: one invalid task makes every
 * task of the group TASK_ERROR with REASON_TASK_GROUP_INVALID. Checks follow Mesos's
 * task::group::validate; agora adds that only the executor may name networks.
 */
import type { ExecutorInfo, OfferOperation, TaskInfo } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import type { MasterContext } from './context.js';
import { MIN_EXECUTOR_CPUS, MIN_EXECUTOR_MEM_MB, addExecutor, checkExecutorInfo, normalizedExecutor } from './executors.js';
import { checkTaskFields, dropTask, hasImage } from './launch.js';
import type { AgentRecord, FrameworkRecord } from './state.js';
import { addStagingTask } from './tasks.js';

interface CheckedGroup {
  executor: ExecutorInfo;
  executorResources: Resources;
  executorIsNew: boolean;
  /** Unallocated resources of each task, in the group's order. */
  taskResources: Resources[];
}

/** Applies one LAUNCH_GROUP operation and returns what is left of the offered resources. */
export function launchGroup(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  role: string,
  remaining: Resources,
  operation: OfferOperation,
): Resources {
  const group = operation.launch_group;
  const tasks = group?.task_group.tasks ?? [];
  ctx.count('master/messages_launch_task_groups');
  const checked = group === undefined ? "'launch_group' is missing" : checkGroup(ctx, framework, agent, remaining.unallocated(), group.executor, tasks, operation.id !== undefined);
  if (typeof checked === 'string') {
    for (const task of tasks) dropTask(ctx, framework, task, 'TASK_ERROR', 'REASON_TASK_GROUP_INVALID', checked);
    return remaining;
  }
  const executor = normalizedExecutor(checked.executor, framework.id, checked.executorResources, role);
  if (checked.executorIsNew) addExecutor(ctx, agent, executor, role, checked.executorResources);
  let used = checked.executorIsNew ? checked.executorResources : Resources.empty();
  const launched: TaskInfo[] = [];
  tasks.forEach((task, i) => {
    const resources = checked.taskResources[i]!.allocatedTo(role);
    // As in Mesos, every task of the group carries its executor, so the agent and /state know it.
    const { resources: _wire, ...info } = { ...task, executor };
    addStagingTask(ctx, { info, frameworkId: framework.id, agentId: agent.id, role, resources });
    launched.push({ ...info, resources: resources.toWire() });
    used = used.add(checked.taskResources[i]!);
  });
  ctx.sendToAgent(agent, {
    type: 'RUN_TASK_GROUP',
    run_task_group: { framework_id: { value: framework.id }, framework_info: framework.info, executor, task_group: { tasks: launched } },
  });
  ctx.count('master/messages_launch_tasks', launched.length);
  return remaining.subtract(used.allocatedTo(role));
}

/** The group's executor and resources when every check passes, or the message of the first failure. */
function checkGroup(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  available: Resources,
  executorGiven: ExecutorInfo,
  tasks: TaskInfo[],
  hasOperationId: boolean,
): CheckedGroup | string {
  if (hasOperationId) return "Offer operation 'id' must not be set for LAUNCH_GROUP (operation feedback is not available for launches)";
  if (tasks.length === 0) return "The task group has no tasks: 'launch_group.task_group.tasks' is empty";
  const executor = { ...executorGiven, framework_id: executorGiven.framework_id ?? { value: framework.id } };
  const seen = new Set<string>();
  const taskResources: Resources[] = [];
  for (const task of tasks) {
    const problem = checkGroupTask(ctx, framework, agent, task, executor, seen);
    if (typeof problem === 'string') return `Task '${task.task_id.value}' is invalid: ${problem}`;
    seen.add(task.task_id.value);
    taskResources.push(problem.unallocated());
  }

  const executorResources = checkExecutorInfo(ctx, framework, agent, executor);
  if (typeof executorResources === 'string') return executorResources;
  const id = executor.executor_id.value;
  if (executor.type === undefined) return "'ExecutorInfo.type' must be set: 'DEFAULT' for agora's default executor, or 'CUSTOM'";
  if (executor.type === 'UNKNOWN') return "Unknown executor type: set 'ExecutorInfo.type' to 'DEFAULT' or 'CUSTOM'";
  const container = executor.container as { type?: string } | undefined;
  if (container?.type === 'DOCKER') return 'Docker ContainerInfo is not supported on the executor';
  const cpus = executorResources.scalar('cpus');
  if (cpus < MIN_EXECUTOR_CPUS) {
    return `Executor '${id}' uses less CPUs (${cpus === 0 ? 'None' : cpus}) than the minimum required (${MIN_EXECUTOR_CPUS})`;
  }
  const memMb = executorResources.scalar('mem');
  if (memMb < MIN_EXECUTOR_MEM_MB) {
    return `Executor '${id}' uses less memory (${memMb === 0 ? 'None' : `${memMb}MB`}) than the minimum required (${MIN_EXECUTOR_MEM_MB}MB)`;
  }
  if (!executorResources.names().includes('disk')) return `Executor '${id}' uses no disk; give it some, e.g. disk:32`;

  const executorIsNew = ctx.state.executors.get(agent.id, framework.id, id) === undefined;
  let total = taskResources.reduce((sum, r) => sum.add(r), Resources.empty());
  if (executorIsNew) total = total.add(executorResources.unallocated());
  if (!available.contains(total)) {
    return `Total resources ${total.toString()} required by task group and its executor are more than available ${available.toString()}`;
  }
  return { executor, executorResources: executorResources.unallocated(), executorIsNew, taskResources };
}

/** Mesos's task::group::internal::validateTask, and a command (or an image) to run. */
function checkGroupTask(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  task: TaskInfo,
  executor: ExecutorInfo,
  seen: ReadonlySet<string>,
): Resources | string {
  const resources = checkTaskFields(ctx, framework, agent, task, seen);
  if (typeof resources === 'string') return resources;
  if (task.executor !== undefined && task.executor.executor_id.value !== executor.executor_id.value) {
    return `The ExecutorInfo of task '${task.task_id.value}' is different from executor '${executor.executor_id.value}'`;
  }
  const container = task.container as { type?: string; network_infos?: unknown[] } | undefined;
  if (container?.type === 'DOCKER') return 'Docker ContainerInfo is not supported on the task';
  if ((container?.network_infos ?? []).length > 0) {
    return "'container.network_infos' must not be set on a task of a group: its tasks share their executor's network; set 'ExecutorInfo.container.network_infos' instead";
  }
  const command = task.command;
  if (command === undefined ? !hasImage(task) : (command.value ?? '') === '' && !(command.shell === false && hasImage(task))) {
    return "'command.value' must be set (it may be empty only with 'shell': false and a container image)";
  }
  return resources;
}
