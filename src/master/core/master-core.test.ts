import { describe, expect, it } from 'vitest';
import { AgoraError } from '../../base/index.js';
import { Resources } from '../../resources/index.js';
import { HARNESS_MASTER_ID, MasterHarness } from './harness.js';

describe('master core: subscribe and heartbeats', () => {
  it('answers SUBSCRIBE with SUBSCRIBED, a framework id, the heartbeat interval and master info', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ name: 'fw' });
    const [subscribed] = f.eventsOf('SUBSCRIBED');
    expect(subscribed?.subscribed.framework_id.value).toBe(`${HARNESS_MASTER_ID}-0000`);
    expect(subscribed?.subscribed.heartbeat_interval_seconds).toBe(15);
    expect(subscribed?.subscribed.master_info.id).toBe(HARNESS_MASTER_ID);
  });

  it('sends HEARTBEAT every 15 seconds, and not before', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    h.advanceMs(14_999);
    expect(f.eventsOf('HEARTBEAT')).toHaveLength(0);
    h.advanceMs(1);
    expect(f.eventsOf('HEARTBEAT')).toHaveLength(1);
    h.advanceMs(30_000);
    expect(f.eventsOf('HEARTBEAT')).toHaveLength(3);
  });

  it('refuses roles that break Mesos role rules, naming the role', () => {
    const h = new MasterHarness();
    const outcome = h.core.subscribeFramework('x', { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', role: 'a//b' } } }, undefined);
    expect(outcome).toBeInstanceOf(AgoraError);
    expect((outcome as AgoraError).message).toContain('a//b');
  });
});

describe('master core: offers and launches', () => {
  it('offers an agent with every field Mesos fills, promptly after it registers', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent();
    h.settle();
    const [offer] = f.offers();
    expect(offer).toMatchObject({
      framework_id: { value: f.id },
      agent_id: { value: agent.id },
      hostname: expect.any(String),
      url: { scheme: 'http', address: { ip: '127.0.0.1' }, path: '/slave(1)' },
      attributes: [],
    });
    expect(offer!.id.value).toMatch(new RegExp(`^${HARNESS_MASTER_ID}-O\\d+$`));
    const names = offer!.resources.map((r) => r.name).sort();
    expect(names).toEqual(['cpus', 'disk', 'mem', 'ports']);
    expect(offer!.resources.every((r) => r.allocation_info === undefined)).toBe(true);
  });

  it('launches a task, forwards its updates with uuids, and re-offers its resources when it ends', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent('cpus:1;mem:128');
    h.settle();
    const [offer] = f.offers();
    expect(f.launch(offer!, [{ id: 't1', resources: 'cpus:1;mem:128' }])).toBe(202);
    const [run] = agent.eventsOf('RUN_TASK');
    expect(run?.run_task.task.task_id.value).toBe('t1');
    expect(h.core.state.frameworks.get(f.id)!.tasks.get('t1')!.state).toBe('TASK_STAGING');

    const running = agent.update(f.id, 't1', 'TASK_RUNNING');
    expect(f.updates().at(-1)).toMatchObject({ state: 'TASK_RUNNING', uuid: running, agent_id: { value: agent.id } });
    expect(f.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agent.id }, task_id: { value: 't1' }, uuid: running } })).toBe(202);
    expect(agent.eventsOf('ACKNOWLEDGE').at(-1)?.acknowledge.uuid).toBe(running);

    h.advanceMs(2_000);
    expect(f.outstandingOffers()).toHaveLength(0); // all of the agent is used
    const finished = agent.update(f.id, 't1', 'TASK_FINISHED');
    h.settle();
    expect(f.outstandingOffers()).toHaveLength(1); // prompt re-offer, before the next batch
    f.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agent.id }, task_id: { value: 't1' }, uuid: finished } });
    const framework = h.core.state.frameworks.get(f.id)!;
    expect(framework.tasks.size).toBe(0);
    expect(framework.completedTasks.map((t) => t.state)).toEqual(['TASK_FINISHED']);
  });

  it('answers a task that asks for more than the offer holds with TASK_ERROR, and never runs it', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent('cpus:1;mem:128');
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 'big', resources: 'cpus:2;mem:64' }]);
    expect(f.updates()).toMatchObject([{ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', source: 'SOURCE_MASTER' }]);
    expect(f.updates()[0]!.message).toContain('more resources');
    expect(f.updates()[0]!.uuid).toBeUndefined();
    expect(agent.eventsOf('RUN_TASK')).toHaveLength(0);
  });

  it('lets a task leave its command to its image only with shell=false', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent('cpus:2;mem:256');
    h.settle();
    const offer = f.offers()[0]!;
    const task = (id: string, command: object, container?: object) => ({
      name: id,
      task_id: { value: id },
      agent_id: offer.agent_id,
      resources: (Resources.parse('cpus:0.5') as Resources).toWire(),
      command,
      ...(container === undefined ? {} : { container }),
    });
    const image = { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'busybox' } } } };
    f.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          { type: 'LAUNCH', launch: { task_infos: [task('image', { shell: false }, image), task('noimage', { shell: false }), task('shell', {}, image)] } },
        ],
      },
    });
    expect(agent.eventsOf('RUN_TASK').map((e) => e.run_task.task.task_id.value)).toEqual(['image']);
    expect(f.updates().map((s) => [s.task_id.value, s.state])).toEqual([
      ['noimage', 'TASK_ERROR'],
      ['shell', 'TASK_ERROR'],
    ]);
  });

  it('answers launches on an offer that is gone with TASK_LOST, or TASK_DROPPED for partition-aware frameworks', () => {
    const h = new MasterHarness();
    const plain = h.subscribe({ name: 'plain' });
    h.addAgent();
    h.settle();
    const offer = plain.offers()[0]!;
    plain.call({ type: 'DECLINE', decline: { offer_ids: [offer.id] } });
    plain.launch(offer, [{ id: 't', resources: 'cpus:1' }]);
    expect(plain.updates()).toMatchObject([{ state: 'TASK_LOST', reason: 'REASON_INVALID_OFFERS' }]);

    const aware = h.subscribe({ name: 'aware', capabilities: [{ type: 'PARTITION_AWARE' }] });
    aware.launch({ ...offer, framework_id: { value: aware.id } }, [{ id: 't', resources: 'cpus:1' }]);
    expect(aware.updates()).toMatchObject([{ state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS' }]);
  });

  it('honours a decline filter for refuse_seconds, then offers again', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    h.addAgent();
    h.settle();
    f.call({ type: 'DECLINE', decline: { offer_ids: [f.offers()[0]!.id], filters: { refuse_seconds: 10 } } });
    h.advanceMs(9_000);
    expect(f.outstandingOffers()).toHaveLength(0);
    h.advanceMs(2_000);
    expect(f.outstandingOffers()).toHaveLength(1);
  });

  it('offers nothing to a suppressed framework until it revives', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    f.call({ type: 'SUPPRESS', suppress: {} });
    h.addAgent();
    h.advanceMs(5_000);
    expect(f.offers()).toHaveLength(0);
    f.call({ type: 'REVIVE', revive: {} });
    h.settle();
    expect(f.offers()).toHaveLength(1);
  });
});

describe('master core: call checks', () => {
  it('applies the stream id and subscription rules with Mesos status codes', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ failover_timeout: 60 });
    const status = (reply: unknown) => (reply instanceof AgoraError ? reply.httpStatus : reply);
    expect(status(h.core.schedulerCall({ type: 'REVIVE', framework_id: { value: f.id } }, undefined))).toBe(400);
    expect(status(f.call({ type: 'REVIVE' }, 'not-the-stream'))).toBe(400);
    expect(status(f.call({ type: 'UNKNOWN' }))).toBe(501);
    expect(status(f.call({ type: 'ACCEPT' }))).toBe(400);
    expect(status(h.core.schedulerCall({ type: 'REVIVE', framework_id: { value: 'nope' } }, f.streamId))).toBe(400);
    f.disconnect();
    expect(status(h.core.schedulerCall({ type: 'REVIVE', framework_id: { value: f.id } }, f.streamId))).toBe(403);
  });
});

describe('master core: reconciliation', () => {
  it('answers implicit reconciliation with every task, without message or uuid', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent();
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 'a', resources: 'cpus:1' }, { id: 'b', resources: 'cpus:1' }]);
    agent.update(f.id, 'a', 'TASK_RUNNING');
    const before = f.updates().length;
    f.call({ type: 'RECONCILE', reconcile: {} });
    const answers = f.updates().slice(before);
    expect(answers.map((s) => [s.task_id.value, s.state]).sort()).toEqual([['a', 'TASK_RUNNING'], ['b', 'TASK_STAGING']]);
    expect(answers.every((s) => s.reason === 'REASON_RECONCILIATION' && s.uuid === undefined && s.message === undefined)).toBe(true);
  });

  it('follows the decision table for tasks it does not know', () => {
    const h = new MasterHarness();
    const plain = h.subscribe();
    const aware = h.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
    const agent = h.addAgent();
    const ask = (f: typeof plain, agentId?: string) => {
      f.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'ghost' }, ...(agentId ? { agent_id: { value: agentId } } : {}) }] } });
      return f.updates().at(-1)?.state;
    };
    expect(ask(aware, agent.id)).toBe('TASK_GONE');
    expect(ask(aware, 'unknown-agent')).toBe('TASK_UNKNOWN');
    expect(ask(aware)).toBe('TASK_UNKNOWN');
    expect(ask(plain, agent.id)).toBe('TASK_LOST');
  });
});

describe('master core: framework failover', () => {
  it('keeps tasks when the framework re-subscribes within failover_timeout', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ failover_timeout: 60 });
    const agent = h.addAgent();
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 't', resources: 'cpus:1' }]);
    agent.update(f.id, 't', 'TASK_RUNNING');
    f.disconnect();
    h.advanceMs(59_000);
    const again = h.subscribe({ failover_timeout: 60, id: { value: f.id } });
    expect(again.id).toBe(f.id);
    h.advanceMs(120_000);
    expect(h.core.state.frameworks.get(f.id)?.tasks.get('t')?.state).toBe('TASK_RUNNING');
    expect(agent.eventsOf('SHUTDOWN_FRAMEWORK')).toHaveLength(0);
  });

  it('removes the framework and kills its tasks once failover_timeout passes', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ failover_timeout: 60 });
    const agent = h.addAgent();
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 't', resources: 'cpus:1' }]);
    f.disconnect();
    h.advanceMs(60_001);
    expect(h.core.state.frameworks.has(f.id)).toBe(false);
    expect(agent.eventsOf('SHUTDOWN_FRAMEWORK')).toHaveLength(1);
    const completed = h.core.state.completedFrameworks[0]!.record;
    expect(completed.completedTasks[0]?.state).toBe('TASK_KILLED');
    const again = h.core.subscribeFramework('late', { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', id: { value: f.id } } } }, undefined);
    h.drain();
    expect('streamId' in again).toBe(true); // The stream opens only to say why it ends.
  });

  it('closes the older stream with ERROR when the same framework subscribes again', () => {
    const h = new MasterHarness();
    const first = h.subscribe({ failover_timeout: 10 });
    h.subscribe({ failover_timeout: 10, id: { value: first.id } });
    expect(first.eventsOf('ERROR')[0]?.error.message).toBe('Framework failed over');
    expect(h.closed.has(first.connection)).toBe(true);
  });
});

describe('master core: agents', () => {
  it('marks an agent that stops answering pings unreachable after 5 missed pings', () => {
    const h = new MasterHarness();
    const plain = h.subscribe();
    const aware = h.subscribe({ capabilities: [{ type: 'PARTITION_AWARE' }] });
    const agent = h.addAgent('cpus:2;mem:256');
    h.settle();
    for (const f of [plain, aware]) {
      const offer = f.outstandingOffers()[0];
      if (offer !== undefined) f.launch(offer, [{ id: `t-${f.id}`, resources: 'cpus:1' }], 0);
      h.settle();
    }
    h.advanceMs(60_000);
    expect(h.core.state.agents.has(agent.id)).toBe(true);
    h.silentAgents.add(agent.id);
    h.advanceMs(15_000 * 6);
    expect(h.core.state.agents.has(agent.id)).toBe(false);
    expect(h.core.state.unreachableAgents.has(agent.id)).toBe(true);
    expect(plain.updates().at(-1)).toMatchObject({ state: 'TASK_LOST', reason: 'REASON_AGENT_REMOVED' });
    expect(aware.updates().at(-1)).toMatchObject({ state: 'TASK_UNREACHABLE', reason: 'REASON_AGENT_REMOVED' });
    expect(plain.eventsOf('FAILURE')[0]?.failure.agent_id?.value).toBe(agent.id);
  });

  it('rescinds outstanding offers when a connected agent subscribes again, and keeps its tasks', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ checkpoint: true });
    const agent = h.addAgent('cpus:2;mem:256');
    h.settle();
    const offer = f.offers()[0]!;
    f.launch(offer, [{ id: 't', resources: 'cpus:1' }], 0);
    agent.update(f.id, 't', 'TASK_RUNNING');
    h.settle();
    const stale = f.outstandingOffers()[0]!;
    const again = h.addAgent('cpus:2;mem:256', {
      agent_info: { hostname: 'same', id: { value: agent.id } },
      tasks: [{ framework_id: { value: f.id }, task: { ...h.core.state.frameworks.get(f.id)!.tasks.get('t')!.info, resources: [] }, state: 'TASK_RUNNING' }],
    });
    expect(again.id).toBe(agent.id);
    expect(f.eventsOf('RESCIND').map((e) => e.rescind.offer_id.value)).toContain(stale.id.value);
    expect(f.call({ type: 'DECLINE', decline: { offer_ids: [stale.id] } })).toBe(202);
    h.settle();
    expect(h.core.state.frameworks.get(f.id)!.tasks.get('t')!.state).toBe('TASK_RUNNING');
    expect(f.outstandingOffers()[0]?.resources.find((r) => r.name === 'cpus')?.scalar?.value).toBe(1);
  });

  it('refuses an agent whose running tasks do not fit in the resources it now offers', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ checkpoint: true });
    const agent = h.addAgent('cpus:2;mem:256');
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 't', resources: 'cpus:2' }]);
    const record = h.core.state.frameworks.get(f.id)!.tasks.get('t')!;
    const task = { ...record.info, resources: record.resources.toWire() };
    const outcome = h.core.subscribeAgent('again', {
      agent_info: { hostname: 'same', id: { value: agent.id }, resources: (Resources.parse('cpus:1;mem:256') as Resources).toWire() },
      endpoint: { ip: '127.0.0.1', port: 1 },
      version: 'test',
      tasks: [{ framework_id: { value: f.id }, task, state: 'TASK_RUNNING' }],
    });
    expect(outcome).toBeInstanceOf(AgoraError);
    expect((outcome as AgoraError).message).toContain('cannot hold its running tasks');
    expect(h.core.state.agents.get(agent.id)?.connection).toBe(agent.connection);
  });

  it('rescinds offers and ends tasks of non-checkpointing frameworks when an agent disconnects', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent('cpus:2;mem:256');
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 't', resources: 'cpus:1' }], 0);
    h.settle();
    expect(f.outstandingOffers()).toHaveLength(1);
    agent.disconnect();
    expect(f.eventsOf('RESCIND')).toHaveLength(1);
    expect(f.updates().at(-1)).toMatchObject({ state: 'TASK_LOST', reason: 'REASON_AGENT_DISCONNECTED' });
  });
});
