import { beforeEach, describe, expect, it } from 'vitest';
import type { ExecutorCall, ExecutorInfo, FrameworkInfo, TaskInfo, TaskStatus } from '../../api/index.js';
import { ManualClock, SequentialIds, base64Encode } from '../../base/index.js';
import { AgentCore } from './agent-core.js';
import type { AgentEffect, AgentInput, ContainerLaunch, ExecutorEventOut } from './effects.js';

const DEFAULT_EXECUTOR = { shell: false as const, value: '/usr/bin/node', argv: ['node', '/opt/agora/default-executor.js'] };

class Harness {
  readonly clock = new ManualClock();
  readonly core = new AgentCore({
    clock: this.clock,
    ids: new SequentialIds(1),
    config: {
      workDir: '/var/agora',
      ip: '10.0.0.1',
      port: 5051,
      executorShutdownGracePeriodMs: 5_000,
      executorRegistrationTimeoutMs: 60_000,
      defaultExecutorCommand: DEFAULT_EXECUTOR,
    },
  });
  effects: AgentEffect[] = [];
  private uuids = 0;

  constructor() {
    this.send({ kind: 'subscribed', agentId: 'A-S0' });
  }

  send(input: AgentInput): AgentEffect[] {
    const out = this.core.handle(input);
    this.effects.push(...out);
    return out;
  }

  /** Sends an executor call the way the HTTP shell does: checked first. */
  call(call: Omit<ExecutorCall, 'framework_id' | 'executor_id'>, executorId = 'e1'): { status: number; message: string } | undefined {
    const full = { framework_id: { value: 'f1' }, executor_id: { value: executorId }, ...call } as ExecutorCall;
    const error = this.core.executorCallError(full);
    if (error === undefined) this.send({ kind: 'executorCall', call: full });
    return error;
  }

  subscribe(executorId = 'e1', subscribe: ExecutorCall['subscribe'] = {}): void {
    expect(this.call({ type: 'SUBSCRIBE', subscribe }, executorId)).toBeUndefined();
  }

  update(taskId: string, state: TaskStatus['state'], uuid = this.uuid(), executorId = 'e1'): string {
    expect(this.call({ type: 'UPDATE', update: { status: { task_id: { value: taskId }, state, uuid } } }, executorId)).toBeUndefined();
    return uuid;
  }

  uuid(): string {
    const bytes = new Uint8Array(16).fill(7);
    bytes[15] = this.uuids++;
    return base64Encode(bytes);
  }

  events(executorId = 'e1'): ExecutorEventOut[] {
    return this.effects.flatMap((e) => (e.kind === 'executorEvent' && e.executorId === executorId ? [e.event] : []));
  }

  forwarded(): TaskStatus[] {
    return this.effects.flatMap((e) => (e.kind === 'forwardStatus' ? [e.status] : []));
  }

  /** Acknowledges, as the master would, every update forwarded so far (and those that follow). */
  ackAll(): void {
    const acked = new Set<string>();
    for (;;) {
      const next = this.forwarded().filter((s) => !acked.has(s.uuid!));
      if (next.length === 0) return;
      for (const s of next) {
        acked.add(s.uuid!);
        this.send({ kind: 'acknowledge', frameworkId: 'f1', taskId: s.task_id.value, uuid: s.uuid! });
      }
    }
  }

  launched(): ContainerLaunch {
    const launch = this.effects.findLast((e) => e.kind === 'launchContainer');
    if (launch?.kind !== 'launchContainer') throw new Error('no container launched');
    return launch.launch;
  }

  of<K extends AgentEffect['kind']>(kind: K): Extract<AgentEffect, { kind: K }>[] {
    return this.effects.filter((e): e is Extract<AgentEffect, { kind: K }> => e.kind === kind);
  }
}

const framework = (extra: Partial<FrameworkInfo> = {}): FrameworkInfo => ({ user: 'alice', name: 'fw', capabilities: [{ type: 'TASK_KILLING_STATE' }], ...extra });

function customExecutor(id = 'e1'): ExecutorInfo {
  return {
    type: 'CUSTOM',
    executor_id: { value: id },
    framework_id: { value: 'f1' },
    command: { value: './my-executor --fast', environment: { variables: [{ name: 'COLOR', value: 'blue' }] } },
    resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 32 } }],
  };
}

function defaultExecutor(id = 'e1'): ExecutorInfo {
  return {
    type: 'DEFAULT',
    executor_id: { value: id },
    framework_id: { value: 'f1' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
    ],
  };
}

function aTask(id: string, executor?: ExecutorInfo): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: 'A-S0' },
    resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }],
    command: { value: 'sleep 10' },
    ...(executor === undefined ? {} : { executor }),
  };
}

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

/** Runs a custom executor's first task; returns the executor's container id. */
function runCustom(taskId = 't1', info = framework()): string {
  h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: info, task: aTask(taskId, customExecutor()) });
  return h.launched().containerId;
}

function runGroup(taskIds: string[], info = framework()): string {
  h.send({ kind: 'runTaskGroup', frameworkId: 'f1', frameworkInfo: info, executor: defaultExecutor(), tasks: taskIds.map((id) => aTask(id)) });
  return h.launched().containerId;
}

describe('custom executors', () => {
  it('are started with their command, the Mesos environment and their resources plus their first task', () => {
    const containerId = runCustom('t1', framework({ checkpoint: true }));
    const launch = h.launched();
    expect(launch).toMatchObject({
      executorId: 'e1',
      command: { shell: true, value: './my-executor --fast' },
      user: 'alice',
      resources: { memMb: 96 },
      directory: `/var/agora/slaves/A-S0/frameworks/f1/executors/e1/runs/${containerId}`,
    });
    expect(launch.env).toMatchObject({
      MESOS_FRAMEWORK_ID: 'f1',
      MESOS_EXECUTOR_ID: 'e1',
      MESOS_AGENT_ENDPOINT: '10.0.0.1:5051',
      MESOS_DIRECTORY: launch.directory,
      MESOS_SANDBOX: launch.directory,
      MESOS_CHECKPOINT: '1',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      MESOS_RECOVERY_TIMEOUT: '900secs',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
      MESOS_SLAVE_ID: 'A-S0',
      COLOR: 'blue',
    });
    // The executor, not the agent, reports its tasks' states.
    expect(h.forwarded()).toEqual([]);
    expect(h.of('startTimer').map((t) => [t.timer.kind, t.atMs - h.clock.monotonicMs()])).toContainEqual(['executorRegistration', 60_000]);
  });

  it('get SUBSCRIBED, then the tasks queued before; later tasks are launched at once', () => {
    const containerId = runCustom('t1');
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    expect(h.call({ type: 'UPDATE', update: { status: { task_id: { value: 't1' }, state: 'TASK_RUNNING', uuid: h.uuid() } } })).toEqual({
      status: 403,
      message: 'Executor is not subscribed',
    });
    h.subscribe();
    const [subscribed, launch] = h.events();
    expect(subscribed).toMatchObject({
      type: 'SUBSCRIBED',
      subscribed: { executor_info: { executor_id: { value: 'e1' } }, framework_info: { id: { value: 'f1' } }, container_id: { value: containerId } },
    });
    expect(launch).toMatchObject({ type: 'LAUNCH', launch: { task: { task_id: { value: 't1' } } } });
    expect(h.of('cancelTimer').map((t) => t.timer.kind)).toContain('executorRegistration');

    h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: framework(), task: aTask('t2', customExecutor()) });
    expect(h.of('launchContainer')).toHaveLength(1); // The same executor runs it.
    expect(h.events().at(-1)).toMatchObject({ type: 'LAUNCH', launch: { task: { task_id: { value: 't2' } } } });
  });

  it("forward the executor's updates through the status update manager and acknowledge them at once", () => {
    const containerId = runCustom('t1');
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.subscribe();
    const uuid = h.update('t1', 'TASK_RUNNING');
    expect(h.events().at(-1)).toEqual({ type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: 't1' }, uuid } });
    expect(h.forwarded()).toEqual([
      expect.objectContaining({
        task_id: { value: 't1' },
        state: 'TASK_RUNNING',
        uuid,
        source: 'SOURCE_EXECUTOR',
        agent_id: { value: 'A-S0' },
        executor_id: { value: 'e1' },
        container_status: expect.objectContaining({ container_id: { value: containerId }, executor_pid: 77 }),
      }),
    ]);
    // A second update waits for the master's acknowledgement of the first; the executor's is immediate.
    const finished = h.update('t1', 'TASK_FINISHED');
    expect(h.forwarded()).toHaveLength(1);
    expect(h.events().at(-1)).toMatchObject({ type: 'ACKNOWLEDGED', acknowledged: { uuid: finished } });
    // Sent again (say, after a reconnection): acknowledged again, not forwarded twice.
    h.update('t1', 'TASK_FINISHED', finished);
    h.ackAll();
    expect(h.forwarded().map((s) => s.state)).toEqual(['TASK_RUNNING', 'TASK_FINISHED']);
    expect(h.core.books.httpExecutor('f1', 'e1')!.completedTasks.map((t) => t.state)).toEqual(['TASK_FINISHED']);
  });

  it('refuse bad calls as Mesos does', () => {
    runCustom('t1');
    h.subscribe();
    const update = (status: Partial<TaskStatus>) =>
      h.call({ type: 'UPDATE', update: { status: { task_id: { value: 't1' }, state: 'TASK_RUNNING', ...status } } });
    expect(update({})).toMatchObject({ status: 400, message: "Expecting 'uuid' to be present" });
    expect(update({ uuid: 'abc=' })).toMatchObject({ status: 400, message: expect.stringMatching(/not a valid UUID/) });
    expect(update({ uuid: h.uuid(), state: 'TASK_STAGING' })).toMatchObject({ status: 400 });
    expect(update({ uuid: h.uuid(), executor_id: { value: 'other' } })).toMatchObject({ status: 400 });
    expect(h.call({ type: 'HEARTBEAT' }, 'nope')).toEqual({ status: 400, message: 'Executor cannot be found' });
    expect(h.core.executorCallError({ type: 'HEARTBEAT', framework_id: { value: 'f9' }, executor_id: { value: 'e1' } })).toEqual({
      status: 400,
      message: 'Framework cannot be found',
    });
    expect(h.call({ type: 'UNKNOWN' })).toMatchObject({ status: 501 });
    expect(h.call({ type: 'MESSAGE' })).toMatchObject({ status: 400, message: "Expecting 'message' to be present" });
  });

  it('end unfinished tasks TASK_FAILED with REASON_EXECUTOR_TERMINATED when the executor exits, and tell the master', () => {
    const containerId = runCustom('t1');
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.subscribe();
    h.update('t1', 'TASK_RUNNING');
    h.send({ kind: 'containerExited', containerId, exit: { code: 1, description: 'exited with status 1' } });
    expect(h.of('executorExited')).toEqual([{ kind: 'executorExited', frameworkId: 'f1', executorId: 'e1', status: 256 }]);
    expect(h.of('closeExecutorStream')).toHaveLength(1);
    h.ackAll();
    expect(h.forwarded().at(-1)).toMatchObject({
      task_id: { value: 't1' },
      state: 'TASK_FAILED',
      source: 'SOURCE_AGENT',
      reason: 'REASON_EXECUTOR_TERMINATED',
      message: 'Executor exited with status 1',
    });
    // All acknowledged: the executor and its framework are history.
    expect(h.core.frameworks.size).toBe(0);
    expect(h.core.completedFrameworks[0]!.completedHttpExecutors.map((e) => e.id)).toEqual(['e1']);
  });

  it('are destroyed when they do not subscribe within the registration timeout', () => {
    const containerId = runCustom('t1');
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.clock.advanceMs(60_000);
    h.send({ kind: 'timerFired', timer: { kind: 'executorRegistration', containerId } });
    expect(h.of('signalContainer')).toEqual([{ kind: 'signalContainer', containerId, signal: 'SIGKILL' }]);
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGKILL', description: 'terminated with signal Killed' } });
    expect(h.forwarded()).toEqual([
      expect.objectContaining({ state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT', message: 'Executor did not register within 1mins' }),
    ]);
    expect(h.of('executorExited')[0]!.status).toBe(9);
  });

  it('pass messages both ways, and drop them for an executor not subscribed', () => {
    const containerId = runCustom('t1');
    h.send({ kind: 'frameworkMessage', frameworkId: 'f1', executorId: 'e1', data: 'aGk=' });
    expect(h.events()).toEqual([]);
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.subscribe();
    h.send({ kind: 'frameworkMessage', frameworkId: 'f1', executorId: 'e1', data: 'aGk=' });
    expect(h.events().at(-1)).toEqual({ type: 'MESSAGE', message: { data: 'aGk=' } });
    h.call({ type: 'MESSAGE', message: { data: 'aG8=' } });
    expect(h.of('executorMessage')).toEqual([{ kind: 'executorMessage', frameworkId: 'f1', executorId: 'e1', data: 'aG8=' }]);
  });

  it('take the updates a resubscribing executor never saw acknowledged, once each', () => {
    const containerId = runCustom('t1', framework({ checkpoint: true }));
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.subscribe();
    const seen = h.update('t1', 'TASK_RUNNING');
    h.send({ kind: 'executorDisconnected', frameworkId: 'f1', executorId: 'e1' });
    expect(h.core.books.httpExecutor('f1', 'e1')!.state).toBe('running'); // Checkpointing: it may come back.
    const unseen = h.uuid();
    h.subscribe('e1', {
      unacknowledged_updates: [
        { status: { task_id: { value: 't1' }, state: 'TASK_RUNNING', uuid: seen } },
        { status: { task_id: { value: 't1' }, state: 'TASK_FINISHED', uuid: unseen } },
      ],
    });
    expect(h.core.books.httpExecutor('f1', 'e1')!.tasks.get('t1')!.statuses.map((s) => s.state)).toEqual(['TASK_RUNNING', 'TASK_FINISHED']);
    const acks = h.events().flatMap((e) => (e.type === 'ACKNOWLEDGED' ? [e.acknowledged.uuid] : []));
    expect(acks).toEqual([seen, seen, unseen]);
  });

  it('shut down an executor whose stream closes when its framework does not checkpoint', () => {
    const containerId = runCustom('t1');
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.subscribe();
    h.send({ kind: 'executorDisconnected', frameworkId: 'f1', executorId: 'e1' });
    expect(h.core.books.httpExecutor('f1', 'e1')!.state).toBe('terminating');
    h.send({ kind: 'timerFired', timer: { kind: 'executorShutdown', containerId } });
    expect(h.of('signalContainer').at(-1)).toMatchObject({ containerId, signal: 'SIGKILL' });
  });

  it('report their tasks and themselves when the agent subscribes again', () => {
    const containerId = runCustom('t1');
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.subscribe();
    const uuid = h.update('t1', 'TASK_RUNNING');
    expect(h.core.taskReports()).toEqual([
      expect.objectContaining({ framework_id: { value: 'f1' }, state: 'TASK_RUNNING', status_update_uuid: uuid, task: expect.objectContaining({ executor: customExecutor() }) }),
    ]);
    expect(h.core.executorReports()).toEqual([{ framework_id: { value: 'f1' }, executor_info: customExecutor() }]);
  });
});

describe('the default executor and task groups', () => {
  it('starts the default executor, and gives it the group in one LAUNCH_GROUP', () => {
    const containerId = runGroup(['a', 'b']);
    expect(h.launched()).toMatchObject({ command: DEFAULT_EXECUTOR, resources: { cpus: 0.1 } });
    h.send({ kind: 'containerLaunched', containerId, pid: 5 });
    h.subscribe();
    const group = h.events().find((e) => e.type === 'LAUNCH_GROUP');
    expect(group?.type === 'LAUNCH_GROUP' && group.launch_group.task_group.tasks!.map((t) => t.task_id.value)).toEqual(['a', 'b']);
  });

  it('kills a whole queued group when one of its tasks is killed, and then the executor, which has nothing left', () => {
    const containerId = runGroup(['a', 'b']);
    h.send({ kind: 'containerLaunched', containerId, pid: 5 });
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 'b' });
    h.ackAll();
    expect(h.forwarded().map((s) => [s.task_id.value, s.state, s.reason])).toEqual([
      ['a', 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH'],
      ['b', 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH'],
    ]);
    expect(h.core.books.httpExecutor('f1', 'e1')!.state).toBe('terminating');
    // It subscribes late: it is told to shut down, and given nothing.
    h.subscribe();
    expect(h.events().map((e) => e.type)).toEqual(['SHUTDOWN']);
  });

  it('passes a KILL of a delivered task to the executor, with the kill policy', () => {
    const containerId = runGroup(['a', 'b']);
    h.send({ kind: 'containerLaunched', containerId, pid: 5 });
    h.subscribe();
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 'a', killPolicy: { grace_period: { nanoseconds: 1e9 } } });
    expect(h.events().at(-1)).toEqual({ type: 'KILL', kill: { task_id: { value: 'a' }, kill_policy: { grace_period: { nanoseconds: 1e9 } } } });
  });

  it('on SHUTDOWN_EXECUTOR sends SHUTDOWN, and destroys the executor after its grace period', () => {
    const containerId = runGroup(['a']);
    h.send({ kind: 'containerLaunched', containerId, pid: 5 });
    h.subscribe();
    h.send({ kind: 'shutdownExecutor', frameworkId: 'f1', executorId: 'e1' });
    expect(h.events().at(-1)).toEqual({ type: 'SHUTDOWN' });
    const timer = h.of('startTimer').find((t) => t.timer.kind === 'executorShutdown');
    expect(timer!.atMs - h.clock.monotonicMs()).toBe(5_000);
    h.send({ kind: 'timerFired', timer: { kind: 'executorShutdown', containerId } });
    expect(h.of('signalContainer').at(-1)).toMatchObject({ containerId, signal: 'SIGKILL' });
  });

  it('drops tasks for an executor that is shutting down', () => {
    const aware = framework({ capabilities: [{ type: 'PARTITION_AWARE' }] });
    const containerId = runGroup(['a'], aware);
    h.send({ kind: 'containerLaunched', containerId, pid: 5 });
    h.send({ kind: 'shutdownExecutor', frameworkId: 'f1', executorId: 'e1' });
    h.send({ kind: 'runTaskGroup', frameworkId: 'f1', frameworkInfo: aware, executor: defaultExecutor(), tasks: [aTask('c')] });
    expect(h.forwarded().find((s) => s.task_id.value === 'c')).toMatchObject({ state: 'TASK_DROPPED', reason: 'REASON_EXECUTOR_TERMINATED' });
  });

  it('fails the group when the agent has no default executor to start', () => {
    const core = new AgentCore({
      clock: new ManualClock(),
      ids: new SequentialIds(2),
      config: { workDir: '/w', ip: '10.0.0.1', port: 5051, executorShutdownGracePeriodMs: 5_000 },
    });
    core.handle({ kind: 'subscribed', agentId: 'A-S0' });
    const out = core.handle({ kind: 'runTaskGroup', frameworkId: 'f1', frameworkInfo: framework(), executor: defaultExecutor(), tasks: [aTask('a'), aTask('b')] });
    const failed = out.flatMap((e) => (e.kind === 'forwardStatus' ? [e.status] : []));
    expect(failed.map((s) => [s.task_id.value, s.state, s.reason])).toEqual([
      ['a', 'TASK_FAILED', 'REASON_CONTAINER_LAUNCH_FAILED'],
      ['b', 'TASK_FAILED', 'REASON_CONTAINER_LAUNCH_FAILED'],
    ]);
    expect(failed[0]!.message).toBe('This agent has no default executor to run task groups with');
    expect(out.filter((e) => e.kind === 'executorExited')).toHaveLength(1);
    expect(out.filter((e) => e.kind === 'launchContainer')).toHaveLength(0);
  });
});

describe('an executor that subscribes again', () => {
  it('is given again the tasks it never received (not listed, no update), and not those it has', () => {
    const containerId = runCustom('t1', framework({ checkpoint: true }));
    h.send({ kind: 'containerLaunched', containerId, pid: 77 });
    h.subscribe();
    h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: framework({ checkpoint: true }), task: aTask('t2', customExecutor()) });
    h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: framework({ checkpoint: true }), task: aTask('t3', customExecutor()) });
    h.update('t1', 'TASK_RUNNING');
    h.send({ kind: 'executorDisconnected', frameworkId: 'f1', executorId: 'e1' });
    const before = h.events().length;
    // It got t2 (it lists it) but not t3, which went out while its stream was breaking.
    h.subscribe('e1', { unacknowledged_tasks: [aTask('t2', customExecutor())] });
    const launched = h.events().slice(before).flatMap((e) => (e.type === 'LAUNCH' ? [e.launch.task.task_id.value] : []));
    expect(launched).toEqual(['t3']);
  });
});
