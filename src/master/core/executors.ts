/**
 * Executors as the master tracks them (facts 1.5, 1.6, 8.5): custom executors and the default
 * executor of task groups, per framework per agent. An executor holds the resources it was
 * launched with until its agent reports that it exited; then the framework hears FAILURE.
 * Command tasks' executors are the agent's own and are never tracked here.
 */
import type { ExecutorInfo, ExecutorReport, Resource, SchedulerCall } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';
import type { AgentRecord, FrameworkRecord } from './state.js';

export interface ExecutorRecord {
  readonly frameworkId: string;
  readonly agentId: string;
  /** As launched, with `framework_id` set and `resources` carrying their allocation role. */
  readonly info: ExecutorInfo;
  readonly role: string;
  readonly resources: Resources;
}

/** Mesos's MIN_CPUS and MIN_MEM: what the executor of a task group must at least have. */
export const MIN_EXECUTOR_CPUS = 0.01;
export const MIN_EXECUTOR_MEM_MB = 32;

// Invariant: a record is listed under its agent and framework exactly once.
export class ExecutorBook {
  /** agent id -> framework id -> executor id -> record. */
  private readonly byAgent = new Map<string, Map<string, Map<string, ExecutorRecord>>>();

  get(agentId: string, frameworkId: string, executorId: string): ExecutorRecord | undefined {
    return this.byAgent.get(agentId)?.get(frameworkId)?.get(executorId);
  }

  add(record: ExecutorRecord): void {
    let byFramework = this.byAgent.get(record.agentId);
    if (byFramework === undefined) this.byAgent.set(record.agentId, (byFramework = new Map()));
    let executors = byFramework.get(record.frameworkId);
    if (executors === undefined) byFramework.set(record.frameworkId, (executors = new Map()));
    executors.set(record.info.executor_id.value, record);
  }

  remove(record: ExecutorRecord): void {
    const byFramework = this.byAgent.get(record.agentId);
    const executors = byFramework?.get(record.frameworkId);
    if (executors?.get(record.info.executor_id.value) !== record) return;
    executors.delete(record.info.executor_id.value);
    if (executors.size === 0) byFramework!.delete(record.frameworkId);
    if (byFramework!.size === 0) this.byAgent.delete(record.agentId);
  }

  /** Every executor on an agent. */
  onAgent(agentId: string): ExecutorRecord[] {
    return [...(this.byAgent.get(agentId)?.values() ?? [])].flatMap((m) => [...m.values()]);
  }

  /** The ids of a framework's executors on an agent, as Offer.executor_ids lists them. */
  idsOn(agentId: string, frameworkId: string): string[] {
    return [...(this.byAgent.get(agentId)?.get(frameworkId)?.keys() ?? [])];
  }

  ofFramework(frameworkId: string): ExecutorRecord[] {
    return [...this.byAgent.values()].flatMap((m) => [...(m.get(frameworkId)?.values() ?? [])]);
  }

  get size(): number {
    let n = 0;
    for (const byFramework of this.byAgent.values()) for (const executors of byFramework.values()) n += executors.size;
    return n;
  }
}

/**
 * Checks an ExecutorInfo as Mesos's master does for every launch (executor::internal::validate):
 * its type, framework, shutdown grace period, resources, and that an executor already running
 * under this id was launched with the very same info. `info` has framework_id filled in.
 * Returns the message of the first problem, or the decoded resources.
 */
export function checkExecutorInfo(
  ctx: MasterContext,
  framework: FrameworkRecord,
  agent: AgentRecord,
  info: ExecutorInfo,
): Resources | string {
  const id = info.executor_id.value;
  if (info.type === 'DEFAULT') {
    if (info.command !== undefined) return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor";
    const container = info.container as { type?: string; mesos?: { image?: unknown } } | undefined;
    if (container !== undefined && container.type !== 'MESOS') {
      return "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor";
    }
    if (container?.mesos?.image !== undefined) return "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor";
  } else if (info.type === 'CUSTOM' && info.command === undefined) {
    return "'ExecutorInfo.command' must be set for 'CUSTOM' executor";
  }
  if (info.framework_id !== undefined && info.framework_id.value !== framework.id) {
    return `ExecutorInfo has an invalid FrameworkID (Actual: ${info.framework_id.value} vs Expected: ${framework.id})`;
  }
  const grace = info.shutdown_grace_period?.nanoseconds;
  if (grace !== undefined && grace < 0) return "ExecutorInfo's 'shutdown_grace_period' must be non-negative";
  const resources = ctx.internResources(info.resources ?? []);
  if ('error' in resources) return `Executor uses invalid resources: ${resources.error}`;
  const existing = ctx.state.executors.get(agent.id, framework.id, id);
  if (existing !== undefined && !sameExecutorInfo(existing, info, resources)) {
    return `ExecutorInfo is not compatible with the existing ExecutorInfo with the same ExecutorID '${id}': launch with exactly the same ExecutorInfo, or another executor_id`;
  }
  return resources;
}

/** The executor as the master records it and the agent gets it: framework_id set, resources allocated to `role`. */
export function normalizedExecutor(info: ExecutorInfo, frameworkId: string, resources: Resources, role: string): ExecutorInfo {
  return { ...info, framework_id: { value: frameworkId }, resources: resources.allocatedTo(role).toWire() };
}

/** Starts tracking a newly launched executor; its resources are already out of the offer. */
export function addExecutor(ctx: MasterContext, agent: AgentRecord, info: ExecutorInfo, role: string, resources: Resources): ExecutorRecord {
  const record: ExecutorRecord = {
    frameworkId: info.framework_id!.value,
    agentId: agent.id,
    info,
    role,
    resources: resources.allocatedTo(role),
  };
  ctx.state.executors.add(record);
  ctx.count('master/executors_launched');
  return record;
}

/**
 * EXECUTOR_EXITED from the agent: the executor's resources go back to the allocator, and its
 * framework hears FAILURE with the exit status (Mesos's ExitedExecutorMessage). Its tasks end
 * with the updates the agent sends for them.
 */
export function onExecutorExited(
  ctx: MasterContext,
  agent: AgentRecord,
  exited: { framework_id: { value: string }; executor_id: { value: string }; status?: number },
): void {
  const record = ctx.state.executors.get(agent.id, exited.framework_id.value, exited.executor_id.value);
  if (record === undefined) {
    ctx.count('master/invalid_executor_exits');
    return;
  }
  removeExecutor(ctx, record);
  ctx.count('master/executors_exited');
  const framework = ctx.state.frameworks.get(record.frameworkId);
  if (framework === undefined) return;
  ctx.sendToFramework(framework, {
    type: 'FAILURE',
    failure: {
      agent_id: { value: agent.id },
      executor_id: exited.executor_id,
      ...(exited.status === undefined ? {} : { status: exited.status }),
    },
  });
}

/** Stops tracking an executor and gives its resources back. */
export function removeExecutor(ctx: MasterContext, record: ExecutorRecord): void {
  ctx.state.executors.remove(record);
  if (ctx.state.agents.has(record.agentId) && ctx.state.frameworks.has(record.frameworkId)) {
    ctx.allocator.recoverResources(record.frameworkId, record.agentId, record.resources);
    requestAllocation(ctx, record.agentId);
  }
}

/** Forgets every executor of an agent that left (its allocator entry, resources included, is gone). */
export function forgetAgentExecutors(ctx: MasterContext, agentId: string): void {
  for (const record of ctx.state.executors.onAgent(agentId)) ctx.state.executors.remove(record);
}

/**
 * Forgets the executors of a framework being removed, giving their resources back (while the
 * allocator still knows the framework); returns the agents they ran on.
 */
export function forgetFrameworkExecutors(ctx: MasterContext, frameworkId: string): Set<string> {
  const agents = new Set<string>();
  for (const record of ctx.state.executors.ofFramework(frameworkId)) {
    agents.add(record.agentId);
    removeExecutor(ctx, record);
  }
  return agents;
}

/**
 * An agent (re)subscribed: the executors it reports are what runs there. Known ones keep their
 * record; unknown ones (after a master restart) are recorded from the report; recorded ones it
 * does not report are gone. Run before the agent is added to the allocator, which counts them.
 */
export function reconcileReportedExecutors(ctx: MasterContext, agent: AgentRecord, reports: readonly ExecutorReport[]): void {
  const reported = new Set<string>();
  for (const report of reports) {
    const frameworkId = report.framework_id.value;
    const executorId = report.executor_info.executor_id.value;
    reported.add(`${frameworkId}\u0000${executorId}`);
    if (!ctx.state.frameworks.has(frameworkId)) continue; // The agent is told to shut it down with its tasks.
    if (ctx.state.executors.get(agent.id, frameworkId, executorId) !== undefined) continue;
    const resources = Resources.tryFromWire(report.executor_info.resources ?? []);
    if ('error' in resources) continue;
    const framework = ctx.state.frameworks.get(frameworkId)!;
    const role = roleOf(report.executor_info.resources ?? []) ?? framework.roles[0] ?? '*';
    ctx.state.executors.add({ frameworkId, agentId: agent.id, info: report.executor_info, role, resources: resources.allocatedTo(role) });
  }
  for (const record of ctx.state.executors.onAgent(agent.id)) {
    if (!reported.has(`${record.frameworkId}\u0000${record.info.executor_id.value}`)) ctx.state.executors.remove(record);
  }
}

/** `used` (tasks' resources by framework on an agent) plus what executors hold there, for the allocator. */
export function withExecutorResources(ctx: MasterContext, agentId: string, used: Map<string, Resources>): Map<string, Resources> {
  for (const record of ctx.state.executors.onAgent(agentId)) {
    used.set(record.frameworkId, (used.get(record.frameworkId) ?? Resources.empty()).add(record.resources));
  }
  return used;
}

/** What a framework's executors hold, on one agent or everywhere. */
export function executorResources(ctx: MasterContext, filter: { agentId?: string; frameworkId?: string }): Resources {
  const records = filter.agentId !== undefined ? ctx.state.executors.onAgent(filter.agentId) : ctx.state.executors.ofFramework(filter.frameworkId!);
  let total = Resources.empty();
  for (const record of records) {
    if (filter.frameworkId === undefined || record.frameworkId === filter.frameworkId) total = total.add(record.resources);
  }
  return total;
}

/** The scheduler's MESSAGE: best effort to the executor's agent, dropped when it is not connected. */
export function frameworkMessage(ctx: MasterContext, framework: FrameworkRecord, message: NonNullable<SchedulerCall['message']>): void {
  const agent = ctx.state.agents.get(message.agent_id.value);
  if (agent === undefined || agent.connection === undefined) {
    ctx.count('master/invalid_framework_to_executor_messages');
    return;
  }
  ctx.sendToAgent(agent, {
    type: 'FRAMEWORK_MESSAGE',
    framework_message: { framework_id: { value: framework.id }, executor_id: message.executor_id, data: message.data },
  });
  ctx.count('master/valid_framework_to_executor_messages');
}

/** EXECUTOR_MESSAGE from an agent: a MESSAGE event to the executor's framework, if it listens. */
export function executorMessage(
  ctx: MasterContext,
  agent: AgentRecord,
  message: { framework_id: { value: string }; executor_id: { value: string }; data: string },
): void {
  const framework = ctx.state.frameworks.get(message.framework_id.value);
  const sent =
    framework !== undefined &&
    ctx.sendToFramework(framework, {
      type: 'MESSAGE',
      message: { agent_id: { value: agent.id }, executor_id: message.executor_id, data: message.data },
    });
  ctx.count(sent ? 'master/valid_executor_to_framework_messages' : 'master/invalid_executor_to_framework_messages');
}

/** The scheduler's SHUTDOWN: the agent asks the executor to stop, and destroys it after its grace period. */
export function shutdownExecutor(
  ctx: MasterContext,
  framework: FrameworkRecord,
  call: NonNullable<SchedulerCall['shutdown']>,
): void {
  ctx.count('master/messages_shutdown_executor');
  const agent = ctx.state.agents.get(call.agent_id.value);
  if (agent === undefined) return; // Mesos drops it: the agent is gone, and so is the executor.
  ctx.sendToAgent(agent, {
    type: 'SHUTDOWN_EXECUTOR',
    shutdown_executor: { framework_id: { value: framework.id }, executor_id: call.executor_id },
  });
}

/** /master/state's `executors[]` of a framework: Mesos's model of ExecutorInfo plus `slave_id`. */
export function executorJson(record: ExecutorRecord): Record<string, unknown> {
  const { info } = record;
  return {
    executor_id: info.executor_id.value,
    name: info.name ?? '',
    framework_id: record.frameworkId,
    ...(info.type === undefined ? {} : { type: info.type }),
    ...(info.command === undefined ? {} : { command: info.command }),
    resources: record.resources.summary(),
    role: record.role,
    slave_id: record.agentId,
    ...(info.container === undefined ? {} : { container: info.container }),
    ...(info.labels === undefined ? {} : { labels: info.labels.labels ?? [] }),
    ...(info.discovery === undefined ? {} : { discovery: info.discovery }),
  };
}

function roleOf(resources: readonly Resource[]): string | undefined {
  return resources.find((r) => r.allocation_info?.role !== undefined)?.allocation_info?.role;
}

/** Mesos's ExecutorInfo equality, with resources compared as values (the master adds their allocation role). */
function sameExecutorInfo(existing: ExecutorRecord, info: ExecutorInfo, resources: Resources): boolean {
  const { resources: _a, framework_id: _b, ...before } = existing.info;
  const { resources: _c, framework_id: _d, ...after } = info;
  return stableJson(before) === stableJson(after) && existing.resources.unallocated().equals(resources.unallocated());
}

/** JSON with object keys sorted, so that two equal messages compare equal however they were built. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
