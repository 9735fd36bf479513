/**
 * Agents on the master's side of the agent link: registration and re-registration (with the
 * tasks an agent reports, facts 7.3), and disconnection. Pings, partitions and removal are in
 * partitions.ts.
 */
import { AgoraError } from '../../base/index.js';
import { hasCapability, isTerminalState } from '../../api/index.js';
import type { AgentSubscribe, FrameworkInfo, TaskReport } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';
import { reconcileReportedExecutors, withExecutorResources } from './executors.js';
import {
  MARKED_GONE_MESSAGE,
  detachAgent,
  endUnreportedUnreachableTasks,
  pingTimer,
  removeAgent,
  reregisterTimer,
  reregisteredStatus,
  rescindAgentOffers,
} from './partitions.js';
import { releaseConnection } from './state.js';
import type { AgentRecord, ConnectionId, FrameworkRecord } from './state.js';
import { addTask, applyTaskState, endTaskByMaster, masterStatus, stateFor } from './tasks.js';

/** How the master knew a subscribing agent id before: it decides what the frameworks are told. */
type KnownAs = 'registered' | 'recovered' | 'unreachable' | 'unknown';

export function subscribeAgent(
  ctx: MasterContext,
  connection: ConnectionId,
  subscribe: AgentSubscribe,
): { streamId: string } | AgoraError {
  const reported = Resources.tryFromWire(subscribe.agent_info.resources ?? []);
  if ('error' in reported) return new AgoraError('AGORA_ERR_VALIDATION', `'agent_info.resources' are invalid: ${reported.error}`);
  const requestedId = subscribe.agent_info.id?.value;
  const streamId = ctx.ids.uuid();
  // A gone agent is refused whatever it reports: it is told to shut down (Mesos's answer).
  if (requestedId !== undefined && ctx.state.goneAgents.has(requestedId)) {
    ctx.emit({
      kind: 'agentEvent',
      connection,
      event: { type: 'SHUTDOWN', shutdown: { message: `${MARKED_GONE_MESSAGE}; start it with an empty --work_dir to join as a new agent` } },
    });
    ctx.emit({ kind: 'closeConnection', connection });
    return { streamId };
  }
  const total = reservationsKept(ctx, requestedId, reported, subscribe.tasks ?? []);
  const unfit = checkReportedTasksFit(ctx, total, subscribe.tasks ?? []);
  if (unfit !== undefined) return unfit;
  // An agent restarted without its state comes back with a new id from the same endpoint.
  for (const other of ctx.state.agents.values()) {
    if (sameEndpoint(other.endpoint, subscribe.endpoint) && other.id !== requestedId) {
      removeAgent(ctx, other, 'TASK_GONE', 'REASON_AGENT_RESTARTED', `Agent ${other.id} restarted`);
    }
  }
  for (const other of [...ctx.state.recoveredAgents.values()]) {
    if (other.endpoint !== undefined && sameEndpoint(other.endpoint, subscribe.endpoint) && other.id !== requestedId) {
      ctx.emit({ kind: 'persist', operation: { type: 'REMOVE_AGENT', agent_id: { value: other.id } } });
      ctx.state.recoveredAgents.delete(other.id);
    }
  }
  const existing = requestedId === undefined ? undefined : ctx.state.agents.get(requestedId);
  const knownAs: KnownAs =
    requestedId === undefined || existing !== undefined
      ? 'registered'
      : ctx.state.recoveredAgents.has(requestedId)
        ? 'recovered'
        : ctx.state.unreachableAgents.has(requestedId)
          ? 'unreachable'
          : 'unknown';
  // What the registry holds for it: it is only written again when that changes.
  const admitted = existing ?? (requestedId === undefined ? undefined : ctx.state.recoveredAgents.get(requestedId));
  const admittedAs = admitted === undefined ? undefined : JSON.stringify([admitted.info, admitted.endpoint]);
  if (existing !== undefined) {
    // Its allocator entry is rebuilt below, so nothing may stay offered from the old one.
    detachAgent(ctx, existing);
    rescindAgentOffers(ctx, existing);
  }
  const agent: AgentRecord = existing ?? {
    id: requestedId ?? `${ctx.masterId}-S${ctx.state.nextAgentNumber++}`,
    info: subscribe.agent_info,
    hostname: subscribe.agent_info.hostname,
    endpoint: subscribe.endpoint,
    attributes: subscribe.agent_info.attributes ?? [],
    version: subscribe.version,
    total,
    registeredTimeMs: ctx.clock.realtimeMs(),
    missedPings: 0,
    tasks: new Map(),
    offers: new Set(),
  };
  const reregistering = existing !== undefined || requestedId !== undefined;
  Object.assign(agent, {
    info: { ...subscribe.agent_info, id: { value: agent.id } },
    hostname: subscribe.agent_info.hostname,
    endpoint: subscribe.endpoint,
    attributes: subscribe.agent_info.attributes ?? [],
    version: subscribe.version,
    total,
    connection,
    streamId,
    missedPings: 0,
  });
  if (reregistering) agent.reregisteredTimeMs = ctx.clock.realtimeMs();
  // Admission is stored before the agent hears SUBSCRIBED or anyone sees its resources.
  const admission = { info: { ...agent.info, id: { value: agent.id } }, endpoint: agent.endpoint };
  if (admittedAs !== JSON.stringify([admission.info, admission.endpoint])) {
    ctx.emit({ kind: 'persist', operation: { type: 'ADMIT_AGENT', agent: admission } });
  }
  ctx.state.agents.set(agent.id, agent);
  ctx.state.agentByConnection.set(connection, agent.id);
  ctx.state.unreachableAgents.delete(agent.id);
  ctx.state.recoveredAgents.delete(agent.id);
  ctx.cancelTimer(reregisterTimer(agent.id));

  for (const info of subscribe.frameworks ?? []) ensureFramework(ctx, info);
  const shutdownFrameworks = reconcileReportedTasks(ctx, agent, subscribe.tasks ?? [], knownAs);
  reconcileReportedExecutors(ctx, agent, subscribe.executors ?? []);

  ctx.allocator.removeAgent(agent.id);
  ctx.allocator.addAgent(agent.id, { hostname: agent.hostname }, total, withExecutorResources(ctx, agent.id, usedByFramework(agent)));
  ctx.sendToAgent(agent, {
    type: 'SUBSCRIBED',
    subscribed: {
      agent_id: { value: agent.id },
      master_info: ctx.config.masterInfo,
      ping_interval_seconds: ctx.config.agentPingTimeoutMs / 1000,
      total_ping_timeout_seconds: (ctx.config.agentPingTimeoutMs * ctx.config.maxAgentPingTimeouts) / 1000,
    },
  });
  // The agent missed a reservation change while it was away: it checkpoints the master's view.
  if (total !== reported) ctx.sendToAgent(agent, { type: 'CHECKPOINT_RESOURCES', checkpoint_resources: { resources: total.toWire() } });
  // Frameworks removed while the agent was away are shut down there (their tasks were not taken back).
  for (const frameworkId of shutdownFrameworks) {
    ctx.sendToAgent(agent, { type: 'SHUTDOWN_FRAMEWORK', shutdown_framework: { framework_id: { value: frameworkId } } });
  }
  ctx.setTimer(pingTimer(agent.id), ctx.config.agentPingTimeoutMs);
  ctx.count(reregistering ? 'master/slave_reregistrations' : 'master/slave_registrations');
  requestAllocation(ctx, agent.id);
  return { streamId };
}

/**
 * The resources to take for a known agent that subscribes again: the master's own view when it
 * differs from the agent's report only in dynamic reservations (an operation the agent missed
 * while disconnected, as Mesos resends checkpointed resources); otherwise what the agent reports
 * (it restarted with other --resources, or the master restarted and knows nothing better).
 */
function reservationsKept(ctx: MasterContext, agentId: string | undefined, reported: Resources, tasks: TaskReport[]): Resources {
  const known = agentId === undefined ? undefined : ctx.state.agents.get(agentId)?.total;
  if (known === undefined || known.equals(reported)) return reported;
  if (!known.withoutDynamicReservations().equals(reported.withoutDynamicReservations())) return reported;
  return checkReportedTasksFit(ctx, known, tasks) === undefined ? known : reported;
}

/** An agent's running tasks must fit in the resources it offers now, or the books cannot balance. */
function checkReportedTasksFit(ctx: MasterContext, total: Resources, reports: TaskReport[]): AgoraError | undefined {
  let used = Resources.empty();
  for (const report of reports) {
    if (isTerminalState(report.state)) continue;
    // A task the master knows keeps the resources the master placed it with.
    const known = ctx.state.frameworks.get(report.framework_id.value)?.tasks.get(report.task.task_id.value);
    const resources = known?.resources ?? Resources.tryFromWire(report.task.resources ?? []);
    if ('error' in resources) {
      return new AgoraError('AGORA_ERR_VALIDATION', `task ${report.task.task_id.value} has invalid resources: ${resources.error}`);
    }
    used = used.add(resources.unallocated());
  }
  if (total.unallocated().contains(used)) return undefined;
  return new AgoraError(
    'AGORA_ERR_VALIDATION',
    `the agent's resources ${total.unallocated().toString()} cannot hold its running tasks (${used.toString()}); ` +
      'restart it with --resources that include what its tasks use, or stop those tasks first',
  );
}

/** A framework known only from an agent's report (after a master restart) waits, inactive, for its scheduler. */
function ensureFramework(ctx: MasterContext, info: FrameworkInfo): void {
  const id = info.id?.value;
  if (id === undefined || ctx.state.frameworks.has(id) || ctx.state.isRemovedFramework(id)) return;
  const roles = info.roles !== undefined && info.roles.length > 0 ? info.roles : [info.role ?? '*'];
  ctx.state.frameworks.set(id, {
    id,
    info,
    roles,
    registeredTimeMs: ctx.clock.realtimeMs(),
    tasks: new Map(),
    completedTasks: [],
    unreachableTasks: new Map(),
    offers: new Set(),
  });
  ctx.allocator.addFramework(id, { roles, active: false, reservationRefinement: hasCapability(info, 'RESERVATION_REFINEMENT') });
}

/**
 * The agent's report is the truth about what runs there (facts 7.3): tasks it reports are
 * (re)added with its states; tasks the master placed there that it does not report are gone.
 * Tasks of frameworks removed meanwhile are not taken back: the frameworks returned are to be
 * shut down on the agent. When the master had lost the agent (unreachable, or unknown to it),
 * each framework hears its tasks' states again, as in Mesos, partition-aware or not: an agent
 * that comes back keeps its tasks, and a framework that replaced them kills what it no longer
 * wants. After a master failover (a recovered agent) reconciliation tells them instead.
 */
function reconcileReportedTasks(ctx: MasterContext, agent: AgentRecord, reports: TaskReport[], knownAs: KnownAs): Set<string> {
  const reported = new Set<string>();
  const shutdownFrameworks = new Set<string>();
  const lost = knownAs === 'unreachable' || knownAs === 'unknown';
  for (const report of reports) {
    const frameworkId = report.framework_id.value;
    const taskId = report.task.task_id.value;
    reported.add(`${frameworkId}/${taskId}`);
    const framework = ctx.state.frameworks.get(frameworkId);
    if (framework === undefined) {
      shutdownFrameworks.add(frameworkId);
      continue;
    }
    const wasUnreachable = framework.unreachableTasks.delete(taskId);
    let task = framework.tasks.get(taskId);
    if (task !== undefined && task.agentId !== agent.id) {
      // The id runs elsewhere now (it was free again once this agent was forgotten): one must go.
      ctx.sendToAgent(agent, { type: 'KILL_TASK', kill_task: { framework_id: { value: frameworkId }, task_id: { value: taskId } } });
      continue;
    }
    if (task === undefined) {
      // A task the master had ended on its own (TASK_LOST) comes back: it is active again, not completed.
      if (!wasUnreachable) framework.completedTasks = framework.completedTasks.filter((t) => t.info.task_id.value !== taskId);
      const resources = Resources.fromWire(report.task.resources ?? []); // Checked by checkReportedTasksFit.
      task = {
        info: report.task,
        frameworkId,
        agentId: agent.id,
        role: roleOf(report, framework),
        resources,
        state: report.state,
        statuses: [],
        resourcesRecovered: isTerminalState(report.state),
      };
      if (report.status_update_state !== undefined) task.statusUpdateState = report.status_update_state;
      if (report.status_update_uuid !== undefined) task.statusUpdateUuid = report.status_update_uuid;
      addTask(ctx, task, { launched: false });
      if (lost) {
        const status = reregisteredStatus(ctx, agent.id, task, knownAs === 'unreachable');
        applyTaskState(ctx, task, status, report.state);
        ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
      }
    } else if (task.state !== report.state) {
      const status = masterStatus(ctx, { taskId, agentId: agent.id }, report.state, 'REASON_AGENT_REREGISTERED', '');
      applyTaskState(ctx, task, status, report.state);
    }
  }
  for (const [frameworkId, tasks] of [...agent.tasks]) {
    for (const task of [...tasks.values()]) {
      if (reported.has(`${frameworkId}/${task.info.task_id.value}`)) continue;
      const framework = ctx.state.frameworks.get(frameworkId);
      const state = task.state === 'TASK_STAGING' ? stateFor(framework, 'TASK_DROPPED') : stateFor(framework, 'TASK_GONE');
      endTaskByMaster(ctx, task, state, 'REASON_RECONCILIATION', `Task is not on agent ${agent.id} after it re-registered`);
    }
  }
  if (knownAs === 'unreachable') endUnreportedUnreachableTasks(ctx, agent.id, reported);
  return shutdownFrameworks;
}

function sameEndpoint(a: { ip: string; port: number }, b: { ip: string; port: number }): boolean {
  return a.ip === b.ip && a.port === b.port;
}

function roleOf(report: TaskReport, framework: FrameworkRecord): string {
  const fromResources = report.task.resources?.find((r) => r.allocation_info?.role !== undefined)?.allocation_info?.role;
  return fromResources ?? framework.roles[0] ?? '*';
}

function usedByFramework(agent: AgentRecord): Map<string, Resources> {
  const used = new Map<string, Resources>();
  for (const [frameworkId, tasks] of agent.tasks) {
    for (const task of tasks.values()) {
      if (isTerminalState(task.state)) continue;
      used.set(frameworkId, (used.get(frameworkId) ?? Resources.empty()).add(task.resources));
    }
  }
  return used;
}

/**
 * The agent's stream broke. It may come back: keep tasks of checkpointing frameworks, end the
 * others (facts 7.3), stop offering it, and give it a while to re-register.
 */
export function agentDisconnected(ctx: MasterContext, connection: ConnectionId): void {
  const agent = releaseConnection(ctx.state.agentByConnection, ctx.state.agents, connection);
  if (agent === undefined) return;
  // The ping timer keeps running: missed pings make a dead agent unreachable (partitions.ts).
  ctx.allocator.deactivateAgent(agent.id);
  rescindAgentOffers(ctx, agent);
  for (const [frameworkId, tasks] of [...agent.tasks]) {
    const framework = ctx.state.frameworks.get(frameworkId);
    if (framework?.info.checkpoint === true) continue;
    for (const task of [...tasks.values()]) {
      endTaskByMaster(ctx, task, 'TASK_LOST', 'REASON_AGENT_DISCONNECTED', `Agent ${agent.id} disconnected`);
    }
  }
  ctx.setTimer(reregisterTimer(agent.id), ctx.config.agentReregisterTimeoutMs);
  ctx.count('master/slave_disconnections');
}

