/**
 * The v1 Operator API's read-only views (facts 3.1): GET_FRAMEWORKS, GET_AGENTS, GET_TASKS and
 * GET_STATE in `master.Response` shapes (messages and ids as objects, times as TimeInfo), built
 * from the same state as the legacy JSON of views.ts.
 */
import { isTerminalState } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import type { MasterCore } from './master-core.js';
import type { AgentRecord, FrameworkRecord, TaskRecord } from './state.js';

const time = (ms: number | undefined) => (ms === undefined ? undefined : { nanoseconds: Math.round(ms * 1e6) });

function optional<T>(key: string, value: T | undefined): Record<string, T> {
  return value === undefined ? {} : { [key]: value };
}

export function v1Task(task: TaskRecord): Record<string, unknown> {
  const { info } = task;
  return {
    name: info.name,
    task_id: info.task_id,
    framework_id: { value: task.frameworkId },
    ...optional('executor_id', info.executor?.executor_id),
    agent_id: { value: task.agentId },
    state: task.state,
    resources: task.resources.toWire(),
    statuses: task.statuses.map((s) => ({ ...s, task_id: info.task_id, agent_id: { value: task.agentId } })),
    ...optional('status_update_state', task.statusUpdateState),
    ...optional('status_update_uuid', task.statusUpdateUuid),
    ...optional('labels', info.labels),
    ...optional('discovery', info.discovery),
    ...optional('container', info.container),
    ...optional('health_check', info.health_check),
    ...optional('user', info.command?.user),
  };
}

function held(core: MasterCore, offerIds: Iterable<string>, tasks: Iterable<TaskRecord>): { allocated: Resources; offered: Resources } {
  let allocated = Resources.empty();
  for (const task of tasks) if (!task.resourcesRecovered) allocated = allocated.add(task.resources);
  let offered = Resources.empty();
  for (const id of offerIds) offered = offered.add(core.state.offers.get(id)!.resources);
  return { allocated, offered };
}

export function v1Framework(core: MasterCore, framework: FrameworkRecord, active: boolean): Record<string, unknown> {
  const { allocated, offered } = active ? held(core, framework.offers, framework.tasks.values()) : { allocated: Resources.empty(), offered: Resources.empty() };
  return {
    framework_info: framework.info,
    active: active && framework.connection !== undefined,
    connected: framework.connection !== undefined,
    recovered: false,
    registered_time: time(framework.registeredTimeMs),
    ...optional('reregistered_time', time(framework.reregisteredTimeMs)),
    ...optional('unregistered_time', time(framework.unregisteredTimeMs)),
    allocated_resources: allocated.toWire(),
    offered_resources: offered.toWire(),
  };
}

export function v1Agent(core: MasterCore, agent: AgentRecord): Record<string, unknown> {
  const tasks = [...agent.tasks.values()].flatMap((byId) => [...byId.values()]);
  const { allocated, offered } = held(core, agent.offers, tasks);
  return {
    agent_info: { ...agent.info, id: { value: agent.id }, resources: agent.total.toWire() },
    active: agent.connection !== undefined,
    deactivated: false,
    version: agent.version,
    pid: `slave(1)@${agent.endpoint.ip}:${agent.endpoint.port}`,
    registered_time: time(agent.registeredTimeMs),
    ...optional('reregistered_time', time(agent.reregisteredTimeMs)),
    total_resources: agent.total.toWire(),
    allocated_resources: allocated.toWire(),
    offered_resources: offered.toWire(),
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'].map((type) => ({ type })),
  };
}

export function getFrameworks(core: MasterCore): Record<string, unknown> {
  const { state } = core;
  return {
    frameworks: [...state.frameworks.values()].map((f) => v1Framework(core, f, true)),
    completed_frameworks: state.completedFrameworks.map((c) => v1Framework(core, c.record, false)),
  };
}

export function getAgents(core: MasterCore): Record<string, unknown> {
  // Agents known from the registry that have not re-registered since the master started (facts 3.1).
  const recovered = [...core.state.recoveredAgents.values()].map((r) => ({ ...r.info, id: { value: r.id } }));
  return { agents: [...core.state.agents.values()].map((a) => v1Agent(core, a)), recovered_agents: recovered };
}

export function getTasks(core: MasterCore): Record<string, unknown> {
  const tasks: Record<string, unknown>[] = [];
  const completed: Record<string, unknown>[] = [];
  const unreachable: Record<string, unknown>[] = [];
  for (const framework of core.state.frameworks.values()) {
    for (const task of framework.tasks.values()) (isTerminalState(task.state) ? completed : tasks).push(v1Task(task));
    for (const task of framework.unreachableTasks.values()) unreachable.push(v1Task(task));
    for (const task of framework.completedTasks) completed.push(v1Task(task));
  }
  return { tasks, unreachable_tasks: unreachable, completed_tasks: completed };
}

/** master.Response.GetExecutors: the custom and default executors the master tracks. */
export function getExecutors(core: MasterCore): Record<string, unknown> {
  const executors = [...core.state.agents.keys()].flatMap((agentId) => core.state.executors.onAgent(agentId));
  return { executors: executors.map((e) => ({ agent_id: { value: e.agentId }, executor_info: e.info })) };
}

export function getState(core: MasterCore): Record<string, unknown> {
  return { get_tasks: getTasks(core), get_executors: getExecutors(core), get_frameworks: getFrameworks(core), get_agents: getAgents(core) };
}
