/**
 * Read-only views of the agent in Mesos's JSON shapes (facts 4.3, 11): what `/state` and
 * `/metrics/snapshot` answer. Functions of the core's books and the agent's description.
 */
import { isTerminalState, type Attribute, type TaskState } from '../../api/index.js';
import { attributesSummary, Resources } from '../../resources/index.js';
import type { AgentCore, ExecutorEntry, FrameworkEntry, HttpExecutorEntry, TaskEntry } from '../core/index.js';

/** Facts about the running agent that the core does not own. */
export interface AgentDescription {
  hostname: string;
  ip: string;
  port: number;
  version: string;
  startTimeMs: number;
  buildDate: string;
  resources: Resources;
  attributes: Attribute[];
  flags: Record<string, string>;
}

/** What an agent advertises (facts 7.3), limited to what agora's agent actually does. */
export const AGENT_CAPABILITIES = ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'];

export function agentStateJson(core: AgentCore, agent: AgentDescription): Record<string, unknown> {
  const roles = reservedRoles(agent.resources);
  return {
    version: agent.version,
    build_date: agent.buildDate,
    build_time: agent.startTimeMs / 1000,
    build_user: '',
    start_time: agent.startTimeMs / 1000,
    ...(core.agentId === undefined ? {} : { id: core.agentId }),
    pid: `slave(1)@${agent.ip}:${agent.port}`,
    hostname: agent.hostname,
    capabilities: AGENT_CAPABILITIES,
    resources: agent.resources.summary(),
    reserved_resources: Object.fromEntries(roles.map((r) => [r, agent.resources.reservedTo(r).summary()])),
    unreserved_resources: agent.resources.unreserved().summary(),
    reserved_resources_full: Object.fromEntries(roles.map((r) => [r, agent.resources.reservedTo(r).toWire()])),
    unreserved_resources_full: agent.resources.unreserved().toWire(),
    attributes: attributesSummary(agent.attributes),
    ...(core.masterHostname === undefined ? {} : { master_hostname: core.masterHostname }),
    flags: agent.flags,
    frameworks: [...core.frameworks.values()].map(frameworkJson),
    completed_frameworks: core.completedFrameworks.map(frameworkJson),
  };
}

function frameworkJson(framework: FrameworkEntry): Record<string, unknown> {
  const { info } = framework;
  return {
    id: framework.id,
    name: info.name,
    user: info.user,
    failover_timeout: info.failover_timeout ?? 0,
    checkpoint: info.checkpoint ?? false,
    hostname: info.hostname ?? '',
    ...(info.principal === undefined ? {} : { principal: info.principal }),
    ...(info.roles !== undefined && info.roles.length > 0 ? { roles: info.roles } : { role: info.role ?? '*' }),
    ...(info.capabilities === undefined ? {} : { capabilities: info.capabilities.map((c) => c.type) }),
    executors: [...framework.executors.values()].map(executorJson).concat([...framework.httpExecutors.values()].map(httpExecutorJson)),
    completed_executors: framework.completedExecutors.map(executorJson).concat(framework.completedHttpExecutors.map(httpExecutorJson)),
  };
}

/** The tasks of a custom or default executor, as Mesos's /state splits them. */
export function httpExecutorTasks(executor: HttpExecutorEntry): { queued: TaskEntry[]; launched: TaskEntry[]; completed: TaskEntry[] } {
  const queuedIds = new Set(executor.queued.flatMap((q) => (q.kind === 'task' ? [q.taskId] : q.taskIds)));
  const tasks = [...executor.tasks.values()];
  return {
    queued: tasks.filter((t) => queuedIds.has(t.info.task_id.value) && !isTerminalState(t.state)),
    launched: tasks.filter((t) => !queuedIds.has(t.info.task_id.value) && !isTerminalState(t.state)),
    completed: [...executor.completedTasks, ...tasks.filter((t) => isTerminalState(t.state))],
  };
}

/** A custom or default executor (a task group's): its sandbox holds its tasks' (`tasks/<id>`). */
function httpExecutorJson(executor: HttpExecutorEntry): Record<string, unknown> {
  const { info } = executor;
  const resources = Resources.tryFromWire(info.resources ?? []);
  const { queued, launched, completed } = httpExecutorTasks(executor);
  return {
    id: executor.id,
    name: info.name ?? '',
    source: info.source ?? '',
    type: info.type ?? 'CUSTOM',
    container: executor.containerId,
    directory: executor.directory,
    resources: ('error' in resources ? Resources.empty() : resources).summary(),
    tasks: launched.map((t) => taskJson(t, executor)),
    queued_tasks: queued.map((t) => taskJson(t, executor)),
    completed_tasks: completed.map((t) => taskJson(t, executor)),
  };
}

/** Mesos's name of a command executor, as /state and /monitor/statistics show it. */
export function executorName(executor: ExecutorEntry): string {
  return `Command Executor (Task: ${executor.id}) (Command: ${commandText(executor.task.info.command)})`;
}

function executorJson(executor: ExecutorEntry): Record<string, unknown> {
  const { task } = executor;
  const done = isTerminalState(task.state);
  return {
    id: executor.id,
    name: executorName(executor),
    source: executor.id,
    container: executor.containerId,
    directory: executor.directory,
    resources: resourcesOf(task).summary(),
    tasks: done ? [] : [taskJson(task, executor)],
    queued_tasks: [],
    completed_tasks: done ? [taskJson(task, executor)] : [],
  };
}

function taskJson(task: TaskEntry, executor: { readonly id: string }): Record<string, unknown> {
  const { info } = task;
  return {
    id: info.task_id.value,
    name: info.name,
    framework_id: task.frameworkId,
    executor_id: executor.id,
    slave_id: info.agent_id.value,
    state: task.state,
    resources: resourcesOf(task).summary(),
    statuses: task.statuses.map((s) => ({
      state: s.state,
      timestamp: s.timestamp,
      ...(s.container_status === undefined ? {} : { container_status: s.container_status }),
    })),
    ...(info.command?.user === undefined ? {} : { user: info.command.user }),
    ...(info.labels === undefined ? {} : { labels: info.labels.labels ?? [] }),
    ...(info.discovery === undefined ? {} : { discovery: info.discovery }),
    ...(info.container === undefined ? {} : { container: info.container }),
  };
}

/** `/metrics/snapshot`: Mesos's `slave/*` names for what the agent has (facts 11). */
export function agentMetrics(core: AgentCore, agent: AgentDescription, nowMs: number, system: Record<string, number>): Record<string, number> {
  const live = [...core.frameworks.values()].flatMap((f) => [...f.executors.values()]);
  const used = live.filter((e) => !isTerminalState(e.task.state)).reduce((sum, e) => sum.add(resourcesOf(e.task)), Resources.empty());
  const gauge = (state: TaskState) => live.filter((e) => e.task.state === state).length;
  const metrics: Record<string, number> = {
    'slave/registered': core.connected ? 1 : 0,
    'slave/uptime_secs': (nowMs - agent.startTimeMs) / 1000,
    'slave/recovery_errors': 0,
    'slave/frameworks_active': [...core.frameworks.values()].filter((f) => !f.terminating).length,
    'slave/executors_registering': live.filter((e) => e.phase === 'launching').length,
    'slave/executors_running': live.filter((e) => e.phase === 'running' && e.kill === undefined).length,
    'slave/executors_terminating': live.filter((e) => e.phase === 'running' && e.kill !== undefined).length,
    'slave/executors_terminated': core.completedFrameworks.concat([...core.frameworks.values()]).reduce((n, f) => n + f.completedExecutors.length, 0),
    'slave/tasks_staging': gauge('TASK_STAGING'),
    'slave/tasks_starting': gauge('TASK_STARTING'),
    'slave/tasks_running': gauge('TASK_RUNNING'),
    'slave/tasks_killing': gauge('TASK_KILLING'),
    'slave/tasks_finished': core.counters.tasksFinished,
    'slave/tasks_failed': core.counters.tasksFailed,
    'slave/tasks_killed': core.counters.tasksKilled,
    'slave/tasks_lost': core.counters.tasksLost,
    'slave/tasks_gone': core.counters.tasksGone,
    'slave/valid_status_updates': core.counters.validStatusUpdates,
    'slave/invalid_status_updates': 0,
    'slave/container_launch_errors': core.counters.containerLaunchErrors,
    ...system,
  };
  for (const name of ['cpus', 'mem', 'disk', 'gpus']) {
    const total = agent.resources.scalar(name);
    const inUse = used.scalar(name);
    metrics[`slave/${name}_total`] = total;
    metrics[`slave/${name}_used`] = inUse;
    metrics[`slave/${name}_percent`] = total > 0 ? inUse / total : 0;
  }
  return metrics;
}

export function resourcesOf(task: TaskEntry): Resources {
  const parsed = Resources.tryFromWire(task.info.resources ?? []);
  return 'error' in parsed ? Resources.empty() : parsed;
}

function reservedRoles(resources: Resources): string[] {
  const roles = new Set<string>();
  for (const r of resources.toWire()) {
    const role = r.reservations?.at(-1)?.role ?? (r.role !== undefined && r.role !== '*' ? r.role : undefined);
    if (role !== undefined) roles.add(role);
  }
  return [...roles].sort();
}

function commandText(command: TaskEntry['info']['command']): string {
  if (command === undefined) return '';
  if (command.shell === false) return `[${(command.arguments ?? [command.value ?? '']).join(', ')}]`;
  return `sh -c '${command.value ?? ''}'`;
}
