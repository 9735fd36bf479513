import { describe, expect, it } from 'vitest';
import { AgoraError } from '../../base/index.js';
import type { TaskReport, TaskStatus } from '../../api/index.js';
import { type AgentClient, type FrameworkClient, MasterHarness } from './harness.js';
import { getAgents, getTasks } from './v1-views.js';

const PA = [{ type: 'PARTITION_AWARE' as const }];
const lastUpdate = (f: FrameworkClient, taskId: string): TaskStatus | undefined => f.updates().filter((s) => s.task_id.value === taskId).at(-1);
const taskIds = (list: unknown): string[] => (list as Array<{ task_id: { value: string } }>).map((t) => t.task_id.value).sort();

/**
 * One agent running one task of a partition-aware framework ("aware"), one of a framework that
 * is not ("plain"), and one of a partition-aware framework that will be torn down ("doomed").
 */
function aClusterWithTasks(overrides: ConstructorParameters<typeof MasterHarness>[0] = {}) {
  const h = new MasterHarness(overrides);
  const aware = h.subscribe({ name: 'aware', capabilities: PA, checkpoint: true });
  const plain = h.subscribe({ name: 'plain', checkpoint: true });
  const doomed = h.subscribe({ name: 'doomed', capabilities: PA, checkpoint: true });
  const agent = h.addAgent('cpus:3;mem:384', { agent_info: { hostname: 'node1' } });
  h.settle();
  for (const [f, id] of [[aware, 'ta'], [plain, 'tp'], [doomed, 'td']] as const) {
    h.settle();
    const offer = f.outstandingOffers()[0];
    if (offer === undefined) throw new Error(`no offer for ${id}`);
    f.launch(offer, [{ id, resources: 'cpus:1;mem:128' }], 0);
    agent.update(f.id, id, 'TASK_RUNNING');
  }
  return { h, aware, plain, doomed, agent };
}

/** The tasks an agent would report on re-subscribing: what the master placed there, running. */
function reportsOf(h: MasterHarness, agent: AgentClient, frameworks: FrameworkClient[]): TaskReport[] {
  return frameworks.flatMap((f) => {
    const record = h.core.state.frameworks.get(f.id) ?? h.core.state.completedFrameworks.find((c) => c.record.id === f.id)!.record;
    const tasks = [...record.tasks.values(), ...record.unreachableTasks.values(), ...record.completedTasks].filter((t) => t.agentId === agent.id);
    return tasks.map((t) => ({ framework_id: { value: f.id }, task: { ...t.info, resources: t.resources.toWire() }, state: 'TASK_RUNNING' as const }));
  });
}

function silence(h: MasterHarness, agent: AgentClient): void {
  h.silentAgents.add(agent.id);
  h.advanceMs(h.core.config.agentPingTimeoutMs * (h.core.config.maxAgentPingTimeouts + 1));
  expect(h.core.state.unreachableAgents.has(agent.id)).toBe(true);
}

function comeBack(h: MasterHarness, agent: AgentClient, frameworks: FrameworkClient[]): AgentClient {
  h.silentAgents.delete(agent.id);
  const info = { hostname: 'node1', id: { value: agent.id } };
  return h.addAgent('cpus:3;mem:384', { agent_info: info, tasks: reportsOf(h, agent, frameworks), frameworks: frameworks.map((f) => ({ user: 'root', name: 'x', id: { value: f.id } })) });
}

describe('partitions: unreachable agents', () => {
  it('ends TASK_GONE the unreachable tasks a returning agent no longer reports; frameworks that heard TASK_LOST hear nothing more', () => {
    const { h, aware, plain, agent } = aClusterWithTasks();
    silence(h, agent);
    h.silentAgents.delete(agent.id);
    const heardBefore = plain.updates().length;
    h.addAgent('cpus:3;mem:384', { agent_info: { hostname: 'node1', id: { value: agent.id } }, tasks: [], frameworks: [] });
    expect(lastUpdate(aware, 'ta')).toMatchObject({ state: 'TASK_GONE', reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER' });
    expect(plain.updates()).toHaveLength(heardBefore);
    expect(lastUpdate(plain, 'tp')).toMatchObject({ state: 'TASK_LOST' });
    expect(h.core.state.frameworks.get(aware.id)!.unreachableTasks.size).toBe(0);
    expect(h.core.state.frameworks.get(plain.id)!.unreachableTasks.size).toBe(0);
  });

  it('marks an agent unreachable after --max_agent_ping_timeouts pings of --agent_ping_timeout go unanswered', () => {
    const h = new MasterHarness({ agentPingTimeoutMs: 200, maxAgentPingTimeouts: 3 });
    const agent = h.addAgent('cpus:1;mem:64');
    h.silentAgents.add(agent.id);
    h.advanceMs(799);
    expect(h.core.state.agents.has(agent.id)).toBe(true);
    expect(agent.eventsOf('PING')).toHaveLength(3);
    h.advanceMs(1);
    expect(h.core.state.agents.has(agent.id)).toBe(false);
    expect(h.persisted.at(-1)).toMatchObject({ type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: agent.id } });
    // A pong resets the count: an agent that answers late but answers stays.
    const slow = h.addAgent('cpus:1;mem:64');
    h.silentAgents.add(slow.id);
    h.advanceMs(600);
    h.silentAgents.delete(slow.id);
    h.core.agentCall({ type: 'PONG', agent_id: { value: slow.id } }, slow.streamId);
    h.advanceMs(10_000);
    expect(h.core.state.agents.has(slow.id)).toBe(true);
  });

  it('marks an agent whose stream broke unreachable after the pings it could not answer, well before --agent_reregister_timeout', () => {
    const h = new MasterHarness({ agentPingTimeoutMs: 200, maxAgentPingTimeouts: 3, agentReregisterTimeoutMs: 600_000 });
    const agent = h.addAgent('cpus:1;mem:64');
    h.advanceMs(100);
    agent.disconnect();
    h.advanceMs(1_000);
    expect(h.core.state.agents.has(agent.id)).toBe(false);
    expect(h.core.state.unreachableAgents.has(agent.id)).toBe(true);
    expect(h.persisted.at(-1)).toMatchObject({ type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: agent.id } });
  });

  it('with --agent_removal_rate_limit, marks agents that fail their pings one permit at a time, and spares one that answers meanwhile', () => {
    const TEN_MINUTES = 600_000;
    const h = new MasterHarness({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 2, agentRemovalRateLimit: { permits: 1, intervalMs: TEN_MINUTES } });
    const [a, b, c] = [h.addAgent('cpus:1;mem:64'), h.addAgent('cpus:1;mem:64'), h.addAgent('cpus:1;mem:64')];
    h.silentAgents.add(a.id);
    h.silentAgents.add(b.id);
    h.advanceMs(3000);
    // Both failed at the same ping; one permit is free now, the next in ten minutes.
    const registered = () => [a, b, c].filter((x) => h.core.state.agents.has(x.id)).length;
    expect(registered()).toBe(2);
    expect(h.core.counters.get('master/slave_unreachable_scheduled')).toBe(2);
    expect(h.core.counters.get('master/slave_unreachable_completed')).toBe(1);
    h.advanceMs(TEN_MINUTES - 1);
    expect(registered()).toBe(2);
    h.advanceMs(1);
    expect(registered()).toBe(1);
    expect(h.core.state.agents.has(c.id)).toBe(true);
    // The third fails now and must wait ten minutes more; it answers a ping before then and stays.
    h.silentAgents.add(c.id);
    h.advanceMs(3000);
    expect(h.core.state.unreachableScheduled.has(c.id)).toBe(true);
    h.silentAgents.delete(c.id);
    h.advanceMs(TEN_MINUTES);
    expect(h.core.state.agents.has(c.id)).toBe(true);
    expect(h.core.counters.get('master/slave_unreachable_canceled')).toBe(1);
    expect(h.core.counters.get('master/slave_unreachable_completed')).toBe(2);
  });

  it('tells partition-aware frameworks TASK_UNREACHABLE and others TASK_LOST, and keeps both tasks as unreachable', () => {
    const { h, aware, plain, agent } = aClusterWithTasks();
    silence(h, agent);
    const since = { nanoseconds: h.core.state.unreachableAgents.get(agent.id)!.sinceMs * 1e6 };
    expect(lastUpdate(aware, 'ta')).toMatchObject({ state: 'TASK_UNREACHABLE', reason: 'REASON_AGENT_REMOVED', source: 'SOURCE_MASTER', unreachable_time: since });
    expect(lastUpdate(plain, 'tp')).toMatchObject({ state: 'TASK_LOST', reason: 'REASON_AGENT_REMOVED', unreachable_time: since });
    expect(lastUpdate(aware, 'ta')?.uuid).toBeUndefined();
    const tasks = getTasks(h.core);
    expect(taskIds(tasks['unreachable_tasks'])).toEqual(['ta', 'td', 'tp']);
    expect(taskIds(tasks['tasks'])).toEqual([]);
    // Reconciliation gives the same answers; a new task may not take an unreachable task's id.
    aware.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'ta' }, agent_id: { value: agent.id } }] } });
    expect(lastUpdate(aware, 'ta')).toMatchObject({ state: 'TASK_UNREACHABLE', reason: 'REASON_RECONCILIATION', unreachable_time: since });
    plain.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'tp' }, agent_id: { value: agent.id } }] } });
    expect(lastUpdate(plain, 'tp')).toMatchObject({ state: 'TASK_LOST', reason: 'REASON_RECONCILIATION' });
  });
});

describe('partitions: an unreachable agent re-registers', () => {
  it('takes its tasks back, partition-aware or not: frameworks hear TASK_RUNNING with REASON_AGENT_REREGISTERED', () => {
    const { h, aware, plain, doomed, agent } = aClusterWithTasks();
    silence(h, agent);
    const back = comeBack(h, agent, [aware, plain, doomed]);
    expect(back.id).toBe(agent.id);
    for (const [f, id] of [[aware, 'ta'], [plain, 'tp'], [doomed, 'td']] as const) {
      expect(lastUpdate(f, id)).toMatchObject({
        state: 'TASK_RUNNING',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REREGISTERED',
        message: 'Unreachable agent re-registered',
        agent_id: { value: agent.id },
      });
      expect(lastUpdate(f, id)?.uuid).toBeUndefined();
    }
    const tasks = getTasks(h.core);
    expect(taskIds(tasks['tasks'])).toEqual(['ta', 'td', 'tp']);
    expect(tasks['unreachable_tasks']).toEqual([]);
    expect(tasks['completed_tasks']).toEqual([]);
    expect(h.core.state.unreachableAgents.has(agent.id)).toBe(false);
    expect(h.persisted.at(-1)).toMatchObject({ type: 'ADMIT_AGENT', agent: { info: { id: { value: agent.id } } } });
    // Nothing is killed, and the tasks hold their resources again: nothing is left to offer.
    expect(back.eventsOf('KILL_TASK')).toEqual([]);
    expect(back.eventsOf('SHUTDOWN_FRAMEWORK')).toEqual([]);
    h.settle();
    expect([aware, plain, doomed].flatMap((f) => f.outstandingOffers())).toEqual([]);
    expect(h.core.counters.get('master/tasks_launched')).toBe(3);
  });

  it('does not take back tasks of a framework torn down meanwhile, and shuts that framework down on the agent', () => {
    const { h, aware, plain, doomed, agent } = aClusterWithTasks();
    silence(h, agent);
    expect(h.operator({ type: 'TEARDOWN', teardown: { framework_id: { value: doomed.id } } })).toEqual({ status: 200 });
    const back = comeBack(h, agent, [aware, plain, doomed]);
    const events = back.events.map((e) => e.type);
    // After SUBSCRIBED, as Mesos sends ShutdownFrameworkMessage after SlaveReregisteredMessage.
    expect(events.indexOf('SHUTDOWN_FRAMEWORK')).toBeGreaterThan(events.indexOf('SUBSCRIBED'));
    expect(back.eventsOf('SHUTDOWN_FRAMEWORK').map((e) => e.shutdown_framework.framework_id.value)).toEqual([doomed.id]);
    expect(taskIds(getTasks(h.core)['tasks'])).toEqual(['ta', 'tp']);
    expect(doomed.updates().filter((s) => s.state === 'TASK_RUNNING' && s.reason === 'REASON_AGENT_REREGISTERED')).toEqual([]);
    // The resources the doomed task held are free again once the agent has shut it down.
    h.settle();
    expect(h.core.state.agents.get(agent.id)!.tasks.has(doomed.id)).toBe(false);
  });

  it('sends no update for an agent known from the registry after a master restart (reconciliation tells instead)', () => {
    const { h, aware, agent } = aClusterWithTasks();
    const registry = { agents: [{ info: { ...h.core.state.agents.get(agent.id)!.info, id: { value: agent.id } } }] };
    const h2 = new MasterHarness({}, registry);
    const f = h2.subscribe({ id: { value: aware.id }, capabilities: PA, checkpoint: true });
    expect(getAgents(h2.core)['recovered_agents']).toEqual([expect.objectContaining({ id: { value: agent.id }, hostname: 'node1' })]);
    const record = h.core.state.frameworks.get(aware.id)!.tasks.get('ta')!;
    h2.addAgent('cpus:3;mem:384', {
      agent_info: { hostname: 'node1', id: { value: agent.id } },
      tasks: [{ framework_id: { value: aware.id }, task: { ...record.info, resources: record.resources.toWire() }, state: 'TASK_RUNNING' }],
    });
    expect(f.updates()).toEqual([]);
    expect(getAgents(h2.core)['recovered_agents']).toEqual([]);
    expect(taskIds(getTasks(h2.core)['tasks'])).toEqual(['ta']);
  });
});

describe('partitions: MARK_AGENT_GONE', () => {
  const gone = (h: MasterHarness, agentId: string) => h.operator({ type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: agentId } } });

  it('stores the agent as gone first, shuts it down, and ends its tasks TASK_GONE_BY_OPERATOR (TASK_LOST if not partition-aware)', () => {
    const { h, aware, plain, agent } = aClusterWithTasks();
    const reply = h.core.operatorCall({ type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: agent.id } } });
    expect(reply).toEqual({ status: 200 });
    const effects = h.core.takeEffects();
    expect(effects[0]).toMatchObject({ kind: 'persist', operation: { type: 'MARK_AGENT_GONE', agent_id: { value: agent.id } } });
    expect(effects.filter((e) => e.kind === 'persist')).toHaveLength(1);
    const shutdown = effects.find((e) => e.kind === 'agentEvent' && e.event.type === 'SHUTDOWN');
    expect(shutdown).toMatchObject({ connection: agent.connection, event: { shutdown: { message: 'Agent has been marked gone' } } });
    // The stream is closed after the SHUTDOWN is written on it.
    expect(effects.findIndex((e) => e.kind === 'closeConnection' && e.connection === agent.connection)).toBeGreaterThan(effects.indexOf(shutdown!));
    // The effects were taken here, not carried out: the frameworks' events are read from them.
    const sent = (f: FrameworkClient) => effects.flatMap((e) => (e.kind === 'frameworkEvent' && e.connection === f.connection ? [e.event] : []));
    const updates = (f: FrameworkClient) => sent(f).flatMap((e) => (e.type === 'UPDATE' ? [e.update.status] : []));
    expect(updates(aware)).toEqual([expect.objectContaining({ task_id: { value: 'ta' }, state: 'TASK_GONE_BY_OPERATOR', reason: 'REASON_AGENT_REMOVED_BY_OPERATOR', source: 'SOURCE_MASTER' })]);
    expect(updates(plain)).toEqual([expect.objectContaining({ task_id: { value: 'tp' }, state: 'TASK_LOST', reason: 'REASON_AGENT_REMOVED_BY_OPERATOR' })]);
    expect(sent(aware).filter((e) => e.type === 'FAILURE')).toEqual([{ type: 'FAILURE', failure: { agent_id: { value: agent.id } } }]);
    expect(getAgents(h.core)['agents']).toEqual([]);
    expect(taskIds(getTasks(h.core)['completed_tasks'])).toEqual(['ta', 'td', 'tp']);
    // Again: 200, nothing more stored. Reconciliation says gone by operator.
    const stored = h.persisted.length;
    expect(gone(h, agent.id)).toEqual({ status: 200 });
    expect(h.persisted).toHaveLength(stored);
    aware.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'other' }, agent_id: { value: agent.id } }] } });
    expect(lastUpdate(aware, 'other')).toMatchObject({ state: 'TASK_GONE_BY_OPERATOR' });
  });

  it('refuses the gone agent when it comes back, with Mesos answer', () => {
    const { h, aware, plain, doomed, agent } = aClusterWithTasks();
    const reports = reportsOf(h, agent, [aware, plain, doomed]);
    gone(h, agent.id);
    const back = h.addAgent('cpus:3;mem:384', { agent_info: { hostname: 'node1', id: { value: agent.id } }, tasks: reports });
    expect(back.eventsOf('SHUTDOWN')[0]?.shutdown.message).toMatch(/^Agent has been marked gone/);
    expect(back.eventsOf('SUBSCRIBED')).toEqual([]);
    expect(h.closed.has(back.connection)).toBe(true);
    expect(h.core.state.agents.has(agent.id)).toBe(false);
    expect(aware.updates().filter((s) => s.state === 'TASK_RUNNING' && s.reason === 'REASON_AGENT_REREGISTERED')).toEqual([]);
  });

  it('marks an unreachable agent gone: partition-aware frameworks hear TASK_GONE_BY_OPERATOR for its unreachable tasks', () => {
    const { h, aware, plain, agent } = aClusterWithTasks();
    silence(h, agent);
    const plainUpdates = plain.updates().length;
    expect(gone(h, agent.id)).toEqual({ status: 200 });
    expect(h.persisted.at(-1)).toMatchObject({ type: 'MARK_AGENT_GONE', agent_id: { value: agent.id } });
    expect(lastUpdate(aware, 'ta')).toMatchObject({ state: 'TASK_GONE_BY_OPERATOR', reason: 'REASON_AGENT_REMOVED_BY_OPERATOR' });
    expect(plain.updates()).toHaveLength(plainUpdates); // It heard TASK_LOST already.
    expect(h.core.state.unreachableAgents.has(agent.id)).toBe(false);
    const tasks = getTasks(h.core);
    expect(tasks['unreachable_tasks']).toEqual([]);
    expect(taskIds(tasks['completed_tasks'])).toEqual(['ta', 'td', 'tp']);
  });

  it('marks a recovered agent gone, and answers 404 for an agent it never knew', () => {
    const h = new MasterHarness({}, { agents: [{ info: { id: { value: 'S-rec' }, hostname: 'h' } }] });
    expect(gone(h, 'S-rec')).toEqual({ status: 200 });
    expect(getAgents(h.core)['recovered_agents']).toEqual([]);
    const unknown = gone(h, 'S-nobody');
    expect(unknown).toBeInstanceOf(AgoraError);
    expect((unknown as AgoraError).httpStatus).toBe(404);
    expect((unknown as AgoraError).message).toContain("Agent 'S-nobody' not found");
    const missing = h.operator({ type: 'MARK_AGENT_GONE' });
    expect((missing as AgoraError).message).toContain('mark_agent_gone');
  });
});
