import { describe, expect, it } from 'vitest';
import type { ExecutorInfo, Offer, TaskInfo } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { type AgentClient, type FrameworkClient, MasterHarness } from './harness.js';
import { frameworkJson } from './views.js';

const wire = (text: string) => (Resources.parse(text) as Resources).toWire();

function defaultExecutor(id = 'e1', resources = 'cpus:0.1;mem:32;disk:32', extra: Partial<ExecutorInfo> = {}): ExecutorInfo {
  return { type: 'DEFAULT', executor_id: { value: id }, resources: wire(resources), ...extra };
}

function customExecutor(id = 'c1', resources = 'cpus:0.1;mem:32'): ExecutorInfo {
  return { type: 'CUSTOM', executor_id: { value: id }, command: { value: './my-executor' }, resources: wire(resources) };
}

function groupTask(offer: Offer, id: string, resources = 'cpus:0.5;mem:64', extra: Partial<TaskInfo> = {}): TaskInfo {
  return { name: id, task_id: { value: id }, agent_id: offer.agent_id, resources: wire(resources), command: { value: 'sleep 10' }, ...extra };
}

function launchGroup(f: FrameworkClient, offer: Offer, executor: ExecutorInfo, tasks: TaskInfo[], operationId?: string) {
  return f.call({
    type: 'ACCEPT',
    accept: {
      offer_ids: [offer.id],
      operations: [{ type: 'LAUNCH_GROUP', ...(operationId ? { id: { value: operationId } } : {}), launch_group: { executor, task_group: { tasks } } }],
      filters: { refuse_seconds: 0 },
    },
  });
}

function setup(resources = 'cpus:2;mem:1024;disk:1024'): { h: MasterHarness; f: FrameworkClient; agent: AgentClient; offer: Offer } {
  const h = new MasterHarness();
  const f = h.subscribe();
  const agent = h.addAgent(resources);
  h.settle();
  const [offer] = f.offers();
  return { h, f, agent, offer: offer! };
}

function nextOffer(h: MasterHarness, f: FrameworkClient): Offer {
  h.advanceMs(1_000);
  const offer = f.outstandingOffers().at(-1);
  if (offer === undefined) throw new Error('no offer');
  return offer;
}

function offered(offer: Offer): Resources {
  return Resources.fromWire(offer.resources).unallocated();
}

function exited(h: MasterHarness, agent: AgentClient, frameworkId: string, executorId: string, status?: number): void {
  const error = h.core.agentCall(
    {
      type: 'EXECUTOR_EXITED',
      agent_id: { value: agent.id },
      executor_exited: { framework_id: { value: frameworkId }, executor_id: { value: executorId }, ...(status === undefined ? {} : { status }) },
    },
    agent.streamId,
  );
  expect(error).toBeUndefined();
  h.drain();
}

describe('master core: LAUNCH_GROUP validation (all or nothing)', () => {
  const cases: Array<[string, (offer: Offer) => { executor: ExecutorInfo; tasks: TaskInfo[]; operationId?: string }, RegExp]> = [
    ['an executor without type', (o) => ({ executor: { ...defaultExecutor(), type: undefined }, tasks: [groupTask(o, 'a'), groupTask(o, 'b')] }), /'ExecutorInfo.type' must be set/],
    ['an executor below 0.01 cpus', (o) => ({ executor: defaultExecutor('e1', 'cpus:0.001;mem:32;disk:32'), tasks: [groupTask(o, 'a'), groupTask(o, 'b')] }), /uses less CPUs \(0.001\) than the minimum required \(0.01\)/],
    ['an executor below 32 MB', (o) => ({ executor: defaultExecutor('e1', 'cpus:0.1;mem:16;disk:32'), tasks: [groupTask(o, 'a'), groupTask(o, 'b')] }), /uses less memory \(16MB\) than the minimum required \(32MB\)/],
    ['an executor without disk', (o) => ({ executor: defaultExecutor('e1', 'cpus:0.1;mem:32'), tasks: [groupTask(o, 'a'), groupTask(o, 'b')] }), /uses no disk/],
    ['a DEFAULT executor with a command', (o) => ({ executor: defaultExecutor('e1', undefined, { command: { value: 'x' } }), tasks: [groupTask(o, 'a'), groupTask(o, 'b')] }), /'ExecutorInfo.command' must not be set for 'DEFAULT' executor/],
    ['one task without resources', (o) => ({ executor: defaultExecutor(), tasks: [groupTask(o, 'a'), { ...groupTask(o, 'b'), resources: [] }] }), /Task 'b' is invalid: Task uses no resources/],
    ['a task that names a network', (o) => ({ executor: defaultExecutor(), tasks: [groupTask(o, 'a', undefined, { container: { type: 'MESOS', network_infos: [{ name: 'n' }] } }), groupTask(o, 'b')] }), /Task 'a' is invalid: 'container.network_infos' must not be set on a task of a group/],
    ['two tasks with one id', (o) => ({ executor: defaultExecutor(), tasks: [groupTask(o, 'a'), groupTask(o, 'a')] }), /duplicate ID: a/],
    ['more than the offer holds', (o) => ({ executor: defaultExecutor(), tasks: [groupTask(o, 'a', 'cpus:1;mem:64'), groupTask(o, 'b', 'cpus:1;mem:64')] }), /Total resources .* are more than available/],
    ['an operation id', (o) => ({ executor: defaultExecutor(), tasks: [groupTask(o, 'a'), groupTask(o, 'b')], operationId: 'op' }), /'id' must not be set for LAUNCH_GROUP/],
  ];
  it.each(cases)('refuses %s: every task TASK_ERROR REASON_TASK_GROUP_INVALID, nothing reaches the agent', (_name, build, message) => {
    const { h, f, agent, offer } = setup();
    const { executor, tasks, operationId } = build(offer);
    expect(launchGroup(f, offer, executor, tasks, operationId)).toBe(202);
    const errors = f.updates().filter((s) => s.state === 'TASK_ERROR');
    expect(errors.map((s) => s.task_id.value).sort()).toEqual(tasks.map((t) => t.task_id.value).sort());
    for (const status of errors) {
      expect(status).toMatchObject({ reason: 'REASON_TASK_GROUP_INVALID', source: 'SOURCE_MASTER' });
      expect(status.message).toMatch(message);
    }
    expect(agent.eventsOf('RUN_TASK_GROUP')).toHaveLength(0);
    expect(h.core.state.executors.size).toBe(0);
    expect(h.core.state.frameworks.get(f.id)!.tasks.size).toBe(0);
    // The offer's resources all come back.
    expect(offered(nextOffer(h, f)).equals(offered(offer))).toBe(true);
  });
});

describe('master core: task groups and executors', () => {
  it('launches a group: one RUN_TASK_GROUP with the executor in every task; tasks and executor hold resources', () => {
    const { h, f, agent, offer } = setup();
    expect(launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a'), groupTask(offer, 'b')])).toBe(202);
    const [run] = agent.eventsOf('RUN_TASK_GROUP');
    expect(run?.run_task_group.executor).toMatchObject({ type: 'DEFAULT', executor_id: { value: 'e1' }, framework_id: { value: f.id } });
    expect(run?.run_task_group.task_group.tasks.map((t) => [t.task_id.value, t.executor?.executor_id.value])).toEqual([
      ['a', 'e1'],
      ['b', 'e1'],
    ]);
    expect(f.updates()).toHaveLength(0);
    // cpus:2 - (0.5 + 0.5 + 0.1), mem 1024 - (64 + 64 + 32), disk 1024 - 32.
    const left = offered(nextOffer(h, f));
    expect(left.scalar('cpus')).toBeCloseTo(0.9);
    expect(left.scalar('mem')).toBe(864);
    expect(left.scalar('disk')).toBe(992);

    const state = frameworkJson(h.core, h.core.state.frameworks.get(f.id)!, true);
    expect(state['executors']).toEqual([
      expect.objectContaining({ executor_id: 'e1', framework_id: f.id, slave_id: agent.id, type: 'DEFAULT', resources: expect.objectContaining({ cpus: 0.1, mem: 32, disk: 32 }) }),
    ]);
    expect((state['tasks'] as Array<{ executor_id: string }>).map((t) => t.executor_id)).toEqual(['e1', 'e1']);
  });

  it('offers list the executor ids the framework runs on the agent', () => {
    const { h, f, offer } = setup();
    launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a')]);
    expect(nextOffer(h, f).executor_ids).toEqual([{ value: 'e1' }]);
  });

  it('charges a running executor once: a second group on it uses only its tasks; a changed ExecutorInfo is refused', () => {
    const { h, f, offer } = setup();
    launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a')]);
    const second = nextOffer(h, f);
    const before = offered(second);
    launchGroup(f, second, defaultExecutor(), [groupTask(second, 'b', 'cpus:0.2;mem:32')]);
    const after = offered(nextOffer(h, f));
    expect(before.scalar('cpus') - after.scalar('cpus')).toBeCloseTo(0.2);
    expect(before.scalar('mem') - after.scalar('mem')).toBe(32);

    const third = nextOffer(h, f);
    launchGroup(f, third, defaultExecutor('e1', 'cpus:0.2;mem:32;disk:32'), [groupTask(third, 'c')]);
    expect(f.updates().find((s) => s.task_id.value === 'c')).toMatchObject({
      state: 'TASK_ERROR',
      reason: 'REASON_TASK_GROUP_INVALID',
      message: expect.stringMatching(/not compatible with the existing ExecutorInfo/),
    });
  });

  it('launches a task with a custom executor; its resources come out of the offer, once per executor', () => {
    const { h, f, agent, offer } = setup();
    const task = (o: Offer, id: string): TaskInfo => ({ name: id, task_id: { value: id }, agent_id: o.agent_id, resources: wire('cpus:0.5;mem:64'), executor: customExecutor() });
    f.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task(offer, 't1'), task(offer, 't2')] } }], filters: { refuse_seconds: 0 } } });
    const runs = agent.eventsOf('RUN_TASK');
    expect(runs.map((r) => r.run_task.task.executor?.framework_id?.value)).toEqual([f.id, f.id]);
    const left = offered(nextOffer(h, f));
    expect(left.scalar('cpus')).toBeCloseTo(2 - 0.5 - 0.5 - 0.1);
    expect(left.scalar('mem')).toBe(1024 - 64 - 64 - 32);
  });

  it('refuses a custom executor without a command, and a DEFAULT executor in a LAUNCH', () => {
    const { f, offer } = setup();
    const noCommand = { ...customExecutor(), command: undefined };
    const tasks: TaskInfo[] = [
      { name: 'x', task_id: { value: 'x' }, agent_id: offer.agent_id, resources: wire('cpus:0.1'), executor: noCommand },
      { name: 'y', task_id: { value: 'y' }, agent_id: offer.agent_id, resources: wire('cpus:0.1'), executor: defaultExecutor('d') },
    ];
    f.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: tasks } }] } });
    const [x, y] = f.updates();
    expect(x).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: "'ExecutorInfo.command' must be set for 'CUSTOM' executor" });
    expect(y).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: expect.stringMatching(/must be 'CUSTOM' for a LAUNCH/) });
  });

  it("gives an executor's resources back when its agent reports it exited, and tells the framework with FAILURE", () => {
    const { h, f, agent, offer } = setup('cpus:1;mem:256;disk:64');
    launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a', 'cpus:0.5;mem:64')]);
    const running = agent.update(f.id, 'a', 'TASK_RUNNING');
    f.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agent.id }, task_id: { value: 'a' }, uuid: running } });
    agent.update(f.id, 'a', 'TASK_FINISHED');
    h.settle();
    // The task's resources are back, the executor's not yet.
    expect(offered(f.outstandingOffers().at(-1)!).scalar('mem')).toBe(256 - 32);
    exited(h, agent, f.id, 'e1', 256);
    expect(f.eventsOf('FAILURE').at(-1)?.failure).toEqual({ agent_id: { value: agent.id }, executor_id: { value: 'e1' }, status: 256 });
    expect(h.core.state.executors.size).toBe(0);
    h.advanceMs(1_000);
    const all = f.outstandingOffers().reduce((sum, o) => sum.add(offered(o)), Resources.empty());
    expect(all.scalar('mem')).toBe(256);
    expect(all.scalar('disk')).toBe(64);
    // An exit the master does not know of changes nothing.
    exited(h, agent, f.id, 'e1', 0);
    expect(f.eventsOf('FAILURE')).toHaveLength(1);
  });

  it('passes MESSAGE both ways: framework -> agent -> executor, and executor -> agent -> framework', () => {
    const { h, f, agent, offer } = setup();
    launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a')]);
    f.call({ type: 'MESSAGE', message: { agent_id: { value: agent.id }, executor_id: { value: 'e1' }, data: 'aGVsbG8=' } });
    expect(agent.eventsOf('FRAMEWORK_MESSAGE').at(-1)?.framework_message).toEqual({
      framework_id: { value: f.id },
      executor_id: { value: 'e1' },
      data: 'aGVsbG8=',
    });
    h.core.agentCall(
      {
        type: 'EXECUTOR_MESSAGE',
        agent_id: { value: agent.id },
        executor_message: { framework_id: { value: f.id }, executor_id: { value: 'e1' }, data: 'aGk=' },
      },
      agent.streamId,
    );
    h.drain();
    expect(f.eventsOf('MESSAGE').at(-1)?.message).toEqual({ agent_id: { value: agent.id }, executor_id: { value: 'e1' }, data: 'aGk=' });
  });

  it('forwards SHUTDOWN to the agent as SHUTDOWN_EXECUTOR', () => {
    const { f, agent, offer } = setup();
    launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a')]);
    f.call({ type: 'SHUTDOWN', shutdown: { agent_id: { value: agent.id }, executor_id: { value: 'e1' } } });
    expect(agent.eventsOf('SHUTDOWN_EXECUTOR').at(-1)?.shutdown_executor).toEqual({ framework_id: { value: f.id }, executor_id: { value: 'e1' } });
  });

  it('on TEARDOWN shuts the framework down on agents where only its executor is left, and frees the executor', () => {
    const { h, f, agent, offer } = setup('cpus:1;mem:256;disk:64');
    launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a', 'cpus:0.5;mem:64')]);
    const uuid = agent.update(f.id, 'a', 'TASK_FINISHED');
    f.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agent.id }, task_id: { value: 'a' }, uuid } });
    expect(h.core.state.frameworks.get(f.id)!.tasks.size).toBe(0);
    f.call({ type: 'TEARDOWN' });
    expect(agent.eventsOf('SHUTDOWN_FRAMEWORK')).toHaveLength(1);
    expect(h.core.state.executors.size).toBe(0);
    const other = h.subscribe({ name: 'other' });
    h.advanceMs(1_000);
    expect(other.offers().reduce((sum, o) => sum.add(offered(o)), Resources.empty()).scalar('mem')).toBe(256);
  });

  it('keeps the executors an agent reports when it subscribes again, so their resources stay used', () => {
    const { h, f, agent, offer } = setup('cpus:1;mem:256;disk:64');
    launchGroup(f, offer, defaultExecutor(), [groupTask(offer, 'a', 'cpus:0.5;mem:64')]);
    const record = h.core.state.executors.onAgent(agent.id)[0]!;
    const task = h.core.state.frameworks.get(f.id)!.tasks.get('a')!;
    agent.disconnect();
    h.addAgent('cpus:1;mem:256;disk:64', {
      agent_info: { hostname: 'again', id: { value: agent.id }, resources: wire('cpus:1;mem:256;disk:64') },
      tasks: [{ framework_id: { value: f.id }, task: { ...task.info, resources: task.resources.toWire() }, state: 'TASK_RUNNING' }],
      frameworks: [h.core.state.frameworks.get(f.id)!.info],
      executors: [{ framework_id: { value: f.id }, executor_info: record.info }],
    });
    expect(h.core.state.executors.size).toBe(1);
    h.advanceMs(1_000);
    expect(offered(f.outstandingOffers().at(-1)!).scalar('mem')).toBe(256 - 64 - 32);
  });
});
