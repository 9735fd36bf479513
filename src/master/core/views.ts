/**
 * Read-only views of the master state in Mesos's JSON shapes (facts 4.1, 4.2, 11): what
 * /master/state, /master/state-summary and /metrics/snapshot answer. Pure functions of state.
 */
import { TASK_STATES, isTerminalState } from '../../api/index.js';
import type { TaskState } from '../../api/index.js';
import { Resources, attributesSummary } from '../../resources/index.js';
import { executorJson } from './executors.js';
import type { MasterCore } from './master-core.js';
import type { AgentRecord, FrameworkRecord, OfferRecord, TaskRecord } from './state.js';

/** Facts about the running master that the core does not own. */
export interface MasterDescription {
  id: string;
  hostname: string;
  ip: string;
  port: number;
  version: string;
  startTimeMs: number;
  electedTimeMs: number;
  flags: Record<string, string>;
  buildDate: string;
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

export function taskJson(task: TaskRecord): Record<string, unknown> {
  const command = task.info.command;
  return {
    id: task.info.task_id.value,
    name: task.info.name,
    framework_id: task.frameworkId,
    executor_id: task.info.executor?.executor_id.value ?? '',
    slave_id: task.agentId,
    state: task.state,
    resources: task.resources.summary(),
    role: task.role,
    statuses: task.statuses.map((s) => ({
      state: s.state,
      timestamp: s.timestamp,
      ...(s.labels === undefined ? {} : { labels: s.labels }),
      ...(s.container_status === undefined ? {} : { container_status: s.container_status }),
      ...(s.healthy === undefined ? {} : { healthy: s.healthy }),
    })),
    ...(command?.user === undefined ? {} : { user: command.user }),
    ...(task.info.labels === undefined ? {} : { labels: task.info.labels.labels ?? [] }),
    ...(task.info.discovery === undefined ? {} : { discovery: task.info.discovery }),
    ...(task.info.container === undefined ? {} : { container: task.info.container }),
    ...(task.info.health_check === undefined ? {} : { health_check: task.info.health_check }),
  };
}

function offerJson(offer: OfferRecord): Record<string, unknown> {
  return {
    id: offer.id,
    framework_id: offer.frameworkId,
    allocation_info: { role: offer.role },
    slave_id: offer.agentId,
    resources: offer.resources.summary(),
  };
}

function frameworkResources(core: MasterCore, framework: FrameworkRecord): { used: Resources; offered: Resources } {
  let used = Resources.empty();
  for (const task of framework.tasks.values()) if (!task.resourcesRecovered) used = used.add(task.resources);
  for (const executor of core.state.executors.ofFramework(framework.id)) used = used.add(executor.resources);
  let offered = Resources.empty();
  for (const id of framework.offers) offered = offered.add(core.state.offers.get(id)!.resources);
  return { used, offered };
}

export function frameworkJson(core: MasterCore, framework: FrameworkRecord, active: boolean): Record<string, unknown> {
  const { used, offered } = active ? frameworkResources(core, framework) : { used: Resources.empty(), offered: Resources.empty() };
  const info = framework.info;
  const multiRole = info.capabilities?.some((c) => c.type === 'MULTI_ROLE') ?? false;
  return {
    id: framework.id,
    name: info.name,
    used_resources: used.summary(),
    offered_resources: offered.summary(),
    resources: used.add(offered).summary(),
    capabilities: (info.capabilities ?? []).map((c) => c.type),
    hostname: info.hostname ?? '',
    webui_url: info.webui_url ?? '',
    active: active && framework.connection !== undefined,
    connected: framework.connection !== undefined,
    recovered: false,
    user: info.user,
    failover_timeout: info.failover_timeout ?? 0,
    checkpoint: info.checkpoint ?? false,
    registered_time: seconds(framework.registeredTimeMs),
    unregistered_time: seconds(framework.unregisteredTimeMs) ?? 0,
    ...(framework.reregisteredTimeMs === undefined ? {} : { reregistered_time: seconds(framework.reregisteredTimeMs) }),
    ...(info.principal === undefined ? {} : { principal: info.principal }),
    ...(multiRole ? { roles: framework.roles } : { role: framework.roles[0] ?? '*' }),
    tasks: [...framework.tasks.values()].map(taskJson),
    unreachable_tasks: [...framework.unreachableTasks.values()].map(taskJson),
    completed_tasks: framework.completedTasks.map(taskJson),
    offers: [...framework.offers].map((id) => offerJson(core.state.offers.get(id)!)),
    executors: active ? core.state.executors.ofFramework(framework.id).map(executorJson) : [],
    labels: info.labels?.labels ?? [],
  };
}

export function agentJson(core: MasterCore, agent: AgentRecord): Record<string, unknown> {
  let used = Resources.empty();
  for (const tasks of agent.tasks.values()) {
    for (const task of tasks.values()) if (!task.resourcesRecovered) used = used.add(task.resources);
  }
  for (const executor of core.state.executors.onAgent(agent.id)) used = used.add(executor.resources);
  let offered = Resources.empty();
  for (const id of agent.offers) offered = offered.add(core.state.offers.get(id)!.resources);
  const reserved: Record<string, Record<string, number | string>> = {};
  for (const role of new Set(agent.total.toWire().flatMap((r) => r.reservations?.map((x) => x.role ?? '') ?? []))) {
    if (role !== '') reserved[role] = agent.total.reservedTo(role).summary();
  }
  return {
    id: agent.id,
    hostname: agent.hostname,
    port: agent.endpoint.port,
    attributes: attributesSummary(agent.attributes),
    pid: `slave(1)@${agent.endpoint.ip}:${agent.endpoint.port}`,
    registered_time: seconds(agent.registeredTimeMs),
    ...(agent.reregisteredTimeMs === undefined ? {} : { reregistered_time: seconds(agent.reregisteredTimeMs) }),
    resources: agent.total.summary(),
    used_resources: used.unallocated().summary(),
    offered_resources: offered.unallocated().summary(),
    reserved_resources: reserved,
    unreserved_resources: agent.total.unreserved().summary(),
    active: agent.connection !== undefined,
    deactivated: false,
    version: agent.version,
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'],
  };
}

export function masterStateJson(core: MasterCore, master: MasterDescription): Record<string, unknown> {
  const { state } = core;
  const agents = [...state.agents.values()];
  const pid = `master@${master.ip}:${master.port}`;
  return {
    version: master.version,
    build_date: master.buildDate,
    build_time: master.startTimeMs / 1000,
    build_user: '',
    start_time: master.startTimeMs / 1000,
    elected_time: master.electedTimeMs / 1000,
    id: master.id,
    pid,
    hostname: master.hostname,
    capabilities: ['AGENT_UPDATE'],
    activated_slaves: agents.filter((a) => a.connection !== undefined).length,
    deactivated_slaves: agents.filter((a) => a.connection === undefined).length,
    unreachable_slaves: state.unreachableAgents.size,
    leader: pid,
    leader_info: { id: master.id, pid, port: master.port, hostname: master.hostname, ip: 0 },
    flags: master.flags,
    slaves: agents.map((a) => agentJson(core, a)),
    // Agents known from the registry that have not re-registered since the master started (as /master/slaves).
    recovered_slaves: [...state.recoveredAgents.values()].map((r) => ({
      id: r.id,
      hostname: r.info.hostname,
      port: r.info.port ?? r.endpoint?.port ?? 0,
      attributes: {},
      resources: {},
    })),
    frameworks: [...state.frameworks.values()].map((f) => frameworkJson(core, f, true)),
    completed_frameworks: state.completedFrameworks.map((c) => frameworkJson(core, c.record, false)),
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

function countByState(tasks: Iterable<TaskRecord>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const state of ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_KILLED', 'TASK_FAILED', 'TASK_LOST', 'TASK_ERROR', 'TASK_UNREACHABLE']) {
    counts[state] = 0;
  }
  for (const task of tasks) counts[task.state] = (counts[task.state] ?? 0) + 1;
  return counts;
}

export function stateSummaryJson(core: MasterCore, master: MasterDescription): Record<string, unknown> {
  const { state } = core;
  return {
    hostname: master.hostname,
    cluster: '',
    slaves: [...state.agents.values()].map((agent) => ({
      ...agentJson(core, agent),
      ...countByState([...agent.tasks.values()].flatMap((m) => [...m.values()])),
      framework_ids: [...agent.tasks.keys()],
    })),
    frameworks: [...state.frameworks.values()].map((f) => ({
      id: f.id,
      name: f.info.name,
      active: f.connection !== undefined,
      ...countByState([...f.tasks.values(), ...f.completedTasks]),
      slave_ids: [...new Set([...f.tasks.values()].map((t) => t.agentId))],
    })),
  };
}

/** /metrics/snapshot: Mesos's key names for what agora has. */
export function masterMetrics(core: MasterCore, master: MasterDescription, nowMs: number): Record<string, number> {
  const { state } = core;
  const metrics: Record<string, number> = {
    'master/elected': 1,
    'master/uptime_secs': (nowMs - master.startTimeMs) / 1000,
  };
  const agents = [...state.agents.values()];
  const frameworks = [...state.frameworks.values()];
  // Without deactivation (draining, maintenance) yet, active means connected.
  for (const [prefix, list] of [['master/slaves', agents], ['master/frameworks', frameworks]] as const) {
    const connected = list.filter((x) => x.connection !== undefined).length;
    metrics[`${prefix}_active`] = metrics[`${prefix}_connected`] = connected;
    metrics[`${prefix}_inactive`] = metrics[`${prefix}_disconnected`] = list.length - connected;
  }
  metrics['master/slaves_unreachable'] = state.unreachableAgents.size;
  metrics['master/outstanding_offers'] = state.offers.size;

  const gauges: Partial<Record<TaskState, number>> = {};
  for (const framework of frameworks) {
    for (const task of framework.tasks.values()) if (!isTerminalState(task.state)) gauges[task.state] = (gauges[task.state] ?? 0) + 1;
    gauges.TASK_UNREACHABLE = (gauges.TASK_UNREACHABLE ?? 0) + framework.unreachableTasks.size;
  }
  for (const taskState of TASK_STATES) {
    const key = `master/${taskState.toLowerCase().replace('task_', 'tasks_')}`;
    metrics[key] = isTerminalState(taskState) ? (core.counters.get(key) ?? 0) : (gauges[taskState] ?? 0);
  }
  delete metrics['master/tasks_unknown'];

  let total = Resources.empty();
  let used = Resources.empty();
  for (const agent of agents) {
    total = total.add(agent.total.unallocated());
    for (const tasks of agent.tasks.values()) {
      for (const task of tasks.values()) if (!task.resourcesRecovered) used = used.add(task.resources.unallocated());
    }
    for (const executor of state.executors.onAgent(agent.id)) used = used.add(executor.resources.unallocated());
  }
  for (const name of ['cpus', 'mem', 'disk', 'gpus']) {
    const t = total.scalar(name);
    const u = used.scalar(name);
    metrics[`master/${name}_total`] = t;
    metrics[`master/${name}_used`] = u;
    metrics[`master/${name}_percent`] = t === 0 ? 0 : u / t;
  }
  Object.assign(metrics, allocatorMetrics(core));
  for (const [name, value] of core.counters) if (!(name in metrics)) metrics[name] = value;
  return metrics;
}

/** Mesos's per-role allocator metrics (facts 11): dominant shares, quota, active refuse filters. */
function allocatorMetrics(core: MasterCore): Record<string, number> {
  const { allocator } = core;
  const metrics: Record<string, number> = {};
  for (const [name, total] of allocator.totalQuantities()) metrics[`allocator/mesos/resources/${name}/total`] = total;
  for (const role of allocator.roles()) {
    metrics[`allocator/mesos/roles/${role}/shares/dominant`] = allocator.roleDominantShare(role);
    metrics[`allocator/mesos/offer_filters/roles/${role}/active`] = allocator.activeFilterCount(role);
    const { guarantees, limits } = allocator.quotaOf(role);
    const held = allocator.roleAllocation(role);
    const prefix = `allocator/mesos/quota/roles/${role}/resources`;
    for (const name of new Set([...guarantees.keys(), ...limits.keys()])) {
      metrics[`${prefix}/${name}/guarantee`] = guarantees.get(name) ?? 0;
      // Mesos reports an unset limit as infinite; JSON has no Infinity, so an unset limit is left out.
      const limit = limits.get(name);
      if (limit !== undefined) metrics[`${prefix}/${name}/limit`] = limit;
      metrics[`${prefix}/${name}/offered_or_allocated`] = held.get(name) ?? 0;
    }
  }
  return metrics;
}
