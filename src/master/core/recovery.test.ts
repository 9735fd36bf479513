import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../api/index.js';
import { type AdmittedAgent, type RegistryOperation, type RegistryState, InMemoryRegistry } from '../registry/index.js';
import { type FrameworkClient, MasterHarness } from './harness.js';

const DAY_MS = 24 * 3600_000;
const PA = [{ type: 'PARTITION_AWARE' as const }];

/** A master that ran for a while: one agent running one task of a checkpointing framework. */
function aFirstMaster() {
  const h = new MasterHarness();
  const f = h.subscribe({ checkpoint: true, capabilities: PA, failover_timeout: 3600 });
  const agent = h.addAgent('cpus:4;mem:1024');
  h.settle();
  f.launch(f.offers()[0]!, [{ id: 't1', resources: 'cpus:1;mem:64' }]);
  agent.update(f.id, 't1', 'TASK_RUNNING');
  const registry = new InMemoryRegistry();
  for (const op of h.persisted) void registry.apply(op);
  return { h, f, agent, registry: registry.snapshot() };
}

function reconcile(f: FrameworkClient, tasks: Array<{ taskId: string; agentId?: string }>) {
  return f.call({
    type: 'RECONCILE',
    reconcile: { tasks: tasks.map((t) => ({ task_id: { value: t.taskId }, ...(t.agentId === undefined ? {} : { agent_id: { value: t.agentId } }) })) },
  });
}

const lastUpdate = (updates: TaskStatus[], taskId: string) => updates.filter((s) => s.task_id.value === taskId).at(-1);

describe('master recovery from the registry', () => {
  it('stores an admission before the agent hears SUBSCRIBED, and only when the admission changes', () => {
    const h = new MasterHarness();
    const outcome = h.core.subscribeAgent('a', {
      agent_info: { hostname: 'h1', resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }] },
      endpoint: { ip: '10.0.0.1', port: 5051 },
      version: 'test',
    });
    expect('streamId' in outcome).toBe(true);
    const effects = h.core.takeEffects();
    const persist = effects.findIndex((e) => e.kind === 'persist' && e.operation.type === 'ADMIT_AGENT');
    const subscribed = effects.findIndex((e) => e.kind === 'agentEvent' && e.event.type === 'SUBSCRIBED');
    expect(persist).toBeGreaterThanOrEqual(0);
    expect(persist).toBeLessThan(subscribed);
    const admitted = (effects[persist] as { operation: Extract<RegistryOperation, { type: 'ADMIT_AGENT' }> }).operation.agent;
    expect(admitted.info.hostname).toBe('h1');
    expect(admitted.endpoint).toEqual({ ip: '10.0.0.1', port: 5051 });
    // Subscribing again with the same info writes nothing; with a new hostname, it is admitted anew.
    const again = (hostname: string) => {
      h.core.subscribeAgent('b', { agent_info: { ...admitted.info, hostname }, endpoint: { ip: '10.0.0.1', port: 5051 }, version: 'test' });
      return h.core.takeEffects().filter((e) => e.kind === 'persist');
    };
    expect(again('h1')).toEqual([]);
    expect(again('h1-renamed')).toHaveLength(1);
  });

  it('waits for recovered agents before answering reconciliation about them, then gives every task its true state', () => {
    const first = aFirstMaster();
    expect(first.registry.agents.map((a) => a.info.id.value)).toEqual([first.agent.id]);

    // The master restarts: it knows the agent from the registry, nothing else.
    const h = new MasterHarness({}, first.registry);
    expect([...h.core.state.recoveredAgents.keys()]).toEqual([first.agent.id]);
    const f = h.subscribe({ id: { value: first.f.id }, checkpoint: true, capabilities: PA, failover_timeout: 3600 });
    expect(f.id).toBe(first.f.id);
    // Unknown task on a recovered agent, or with no agent while any is recovered: no answer yet.
    reconcile(f, [{ taskId: 't1', agentId: first.agent.id }, { taskId: 't1' }, { taskId: 'other' }]);
    expect(f.updates()).toEqual([]);

    // The agent re-registers with its id and its running task; its admission is unchanged.
    const agentInfo = first.h.core.state.agents.get(first.agent.id)!.info;
    const task = first.h.core.state.frameworks.get(first.f.id)!.tasks.get('t1')!;
    h.addAgent('cpus:4;mem:1024', {
      agent_info: { ...agentInfo },
      endpoint: first.h.core.state.agents.get(first.agent.id)!.endpoint,
      tasks: [{ framework_id: { value: first.f.id }, task: { ...task.info, resources: task.resources.toWire() }, state: 'TASK_RUNNING' }],
    });
    expect(h.persisted).toEqual([]);
    expect(h.core.state.recoveredAgents.size).toBe(0);
    reconcile(f, [{ taskId: 't1', agentId: first.agent.id }, { taskId: 'other', agentId: first.agent.id }]);
    expect(lastUpdate(f.updates(), 't1')).toMatchObject({ state: 'TASK_RUNNING', reason: 'REASON_RECONCILIATION', source: 'SOURCE_MASTER' });
    expect(lastUpdate(f.updates(), 'other')).toMatchObject({ state: 'TASK_GONE' });
  });

  it('marks recovered agents that do not re-register within --agent_reregister_timeout unreachable, and stores it', () => {
    const first = aFirstMaster();
    const h = new MasterHarness({ agentReregisterTimeoutMs: 60_000 }, first.registry);
    const f = h.subscribe({ id: { value: first.f.id }, capabilities: PA });
    const plain = h.subscribe({ id: { value: 'plain-framework' } });
    h.advanceMs(59_999);
    expect(h.core.state.recoveredAgents.size).toBe(1);
    h.advanceMs(1);
    expect(h.core.state.recoveredAgents.size).toBe(0);
    expect(h.persisted).toEqual([
      { type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: first.agent.id }, timestamp: { nanoseconds: h.clock.realtimeMs() * 1e6 } },
    ]);
    reconcile(f, [{ taskId: 't1', agentId: first.agent.id }]);
    expect(lastUpdate(f.updates(), 't1')).toMatchObject({ state: 'TASK_UNREACHABLE', unreachable_time: { nanoseconds: h.clock.realtimeMs() * 1e6 } });
    reconcile(plain, [{ taskId: 't1', agentId: first.agent.id }]);
    expect(lastUpdate(plain.updates(), 't1')).toMatchObject({ state: 'TASK_LOST' });
    // It may still come back: it is admitted again, and its task is known once more.
    const info = first.h.core.state.agents.get(first.agent.id)!.info;
    h.addAgent('cpus:4;mem:1024', { agent_info: info });
    expect(h.persisted.at(-1)).toMatchObject({ type: 'ADMIT_AGENT', agent: { info: { id: { value: first.agent.id } } } });
    expect(h.core.state.unreachableAgents.has(first.agent.id)).toBe(false);
  });

  it('shuts down a gone agent that comes back, and forgets a recovered agent replaced at its endpoint', () => {
    const admitted = (id: string, port: number): AdmittedAgent => ({ info: { id: { value: id }, hostname: 'h' }, endpoint: { ip: '10.0.0.9', port } });
    const registry: Partial<RegistryState> = {
      agents: [admitted('S-old', 5051)],
      gone: [{ id: { value: 'S-gone' }, timestamp: { nanoseconds: 0 } }],
    };
    const h = new MasterHarness({}, registry);
    const gone = h.addAgent('cpus:1;mem:64', { agent_info: { hostname: 'h', id: { value: 'S-gone' } }, endpoint: { ip: '10.0.0.9', port: 6000 } });
    expect(gone.eventsOf('SHUTDOWN')).toHaveLength(1);
    expect(h.closed.has(gone.connection)).toBe(true);
    // A fresh agent (no id) from S-old's endpoint: S-old restarted without its work dir.
    h.addAgent('cpus:1;mem:64', { agent_info: { hostname: 'h' }, endpoint: { ip: '10.0.0.9', port: 5051 } });
    expect(h.core.state.recoveredAgents.has('S-old')).toBe(false);
    expect(h.persisted.map((op) => op.type)).toEqual(['REMOVE_AGENT', 'ADMIT_AGENT']);
  });

  it('stores that an agent left or went unreachable, before frameworks hear of it', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ capabilities: PA });
    const leaving = h.addAgent('cpus:1;mem:64');
    const silent = h.addAgent('cpus:1;mem:64');
    h.core.agentCall({ type: 'UNSUBSCRIBE', agent_id: { value: leaving.id } }, leaving.streamId);
    const effects = h.core.takeEffects();
    expect(effects[0]).toEqual({ kind: 'persist', operation: { type: 'REMOVE_AGENT', agent_id: { value: leaving.id } } });
    expect(effects.findIndex((e) => e.kind === 'frameworkEvent' && e.event.type === 'FAILURE')).toBeGreaterThan(0);
    h.silentAgents.add(silent.id);
    h.advanceMs(15_000 * 6);
    expect(h.persisted.map((op) => op.type)).toEqual(['ADMIT_AGENT', 'ADMIT_AGENT', 'MARK_AGENT_UNREACHABLE']);
    expect(f.eventsOf('FAILURE').map((e) => e.failure.agent_id?.value)).toEqual([silent.id]);
  });
});

describe('registry GC in the master', () => {
  it('forgets unreachable and gone agents past the maximum age or count, every --registry_gc_interval', () => {
    const h0 = new MasterHarness();
    const now = h0.clock.realtimeMs();
    const tombstone = (id: string, ageDays: number) => ({ id: { value: id }, timestamp: { nanoseconds: (now - ageDays * DAY_MS) * 1e6 } });
    const h = new MasterHarness(
      { registryGcIntervalMs: 60_000, registryMaxAgentAgeMs: 14 * DAY_MS, registryMaxAgentCount: 2 },
      {
        unreachable: [tombstone('u-old', 15), tombstone('u1', 1), tombstone('u2', 2)],
        gone: [tombstone('g1', 1), tombstone('g2', 2), tombstone('g3', 3), tombstone('g4', 4)],
      },
    );
    h.advanceMs(59_000);
    expect(h.persisted).toEqual([]);
    h.advanceMs(1_000);
    expect(h.persisted).toEqual([{ type: 'PRUNE_AGENTS', unreachable: ['u-old'], gone: ['g4', 'g3'] }]);
    expect([...h.core.state.unreachableAgents.keys()].sort()).toEqual(['u1', 'u2']);
    expect([...h.core.state.goneAgents.keys()].sort()).toEqual(['g1', 'g2']);
    // Nothing more to prune: the next rounds store nothing.
    h.advanceMs(120_000);
    expect(h.persisted).toHaveLength(1);
  });
});
