import { beforeEach, describe, expect, it } from 'vitest';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../../api/index.js';
import { ManualClock, SequentialIds } from '../../base/index.js';
import { AgentCore } from './agent-core.js';
import type { AgentEffect, AgentInput } from './effects.js';

/** Drives an AgentCore with a ManualClock and records every effect (Nomad's Harness style). */
class Harness {
  readonly clock = new ManualClock();
  readonly core = new AgentCore({
    clock: this.clock,
    ids: new SequentialIds(1),
    config: { workDir: '/var/agora', ip: '10.0.0.1', port: 5051, executorShutdownGracePeriodMs: 5_000 },
  });
  effects: AgentEffect[] = [];

  constructor() {
    this.send({ kind: 'subscribed', agentId: 'A-S0', masterHostname: 'master.example' });
  }

  send(input: AgentInput): AgentEffect[] {
    const out = this.core.handle(input);
    this.effects.push(...out);
    return out;
  }

  /** Statuses forwarded to the master so far, and forgets them. */
  takeForwarded(): TaskStatus[] {
    const out = this.effects.flatMap((e) => (e.kind === 'forwardStatus' ? [e.status] : []));
    this.effects = this.effects.filter((e) => e.kind !== 'forwardStatus');
    return out;
  }

  /** Acknowledges every forwarded update as the master would, until nothing is left in flight. */
  ackAll(): string[] {
    const states: string[] = [];
    for (let sent = this.takeForwarded(); sent.length > 0; sent = this.takeForwarded()) {
      for (const s of sent) {
        states.push(s.state);
        this.send({ kind: 'acknowledge', frameworkId: 'f1', taskId: s.task_id.value, uuid: s.uuid! });
      }
    }
    return states;
  }

  launched(): Extract<AgentEffect, { kind: 'launchContainer' }>['launch'] {
    const launch = this.effects.findLast((e) => e.kind === 'launchContainer');
    if (launch?.kind !== 'launchContainer') throw new Error('no container launched');
    return launch.launch;
  }

  signals(): string[] {
    return this.effects.flatMap((e) => (e.kind === 'signalContainer' ? [e.signal] : []));
  }

  timerAt(kind: string): number | undefined {
    const timer = this.effects.findLast((e) => e.kind === 'startTimer' && e.timer.kind === kind);
    return timer?.kind === 'startTimer' ? timer.atMs : undefined;
  }
}

const framework = (extra: Partial<FrameworkInfo> = {}): FrameworkInfo => ({ user: 'alice', name: 'fw', ...extra });

function aTask(id: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: 'A-S0' },
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }],
    command: { value: 'echo hi' },
    ...extra,
  };
}

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

function run(task: TaskInfo, info = framework()): string {
  h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: info, task });
  return h.launched().containerId;
}

describe('AgentCore: a command task', () => {
  it('goes STARTING, RUNNING, FINISHED, and is forgotten once FINISHED is acknowledged', () => {
    const containerId = run(aTask('t1'));
    h.send({ kind: 'containerLaunched', containerId, pid: 4242 });
    h.send({ kind: 'containerExited', containerId, exit: { code: 0, description: 'exited with status 0' } });
    expect(h.core.frameworks.get('f1')?.executors.get('t1')?.task.state).toBe('TASK_FINISHED');

    expect(h.ackAll()).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    expect(h.core.frameworks.size).toBe(0);
    const done = h.core.completedFrameworks[0]!.completedExecutors[0]!;
    expect(done.task.statuses.map((s) => s.message ?? '')).toEqual(['', '', 'Command exited with status 0']);
    expect(h.core.counters.tasksFinished).toBe(1);
  });

  it('fills every status as Mesos does: uuid, timestamp, source, agent, executor and container', () => {
    const containerId = run(aTask('t1'));
    h.clock.advanceMs(1_500);
    h.send({ kind: 'containerLaunched', containerId, pid: 4242 });
    h.ackAll();
    const running = h.core.frameworks.get('f1')!.executors.get('t1')!.task.statuses[1]!;
    expect(running).toMatchObject({
      task_id: { value: 't1' },
      state: 'TASK_RUNNING',
      source: 'SOURCE_EXECUTOR',
      agent_id: { value: 'A-S0' },
      executor_id: { value: 't1' },
      container_status: {
        container_id: { value: containerId },
        executor_pid: 4242,
        network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '10.0.0.1' }] }],
      },
      timestamp: 1_700_000_001.5,
    });
    expect(running.uuid).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  });

  it('reports the addresses of CNI networks from RUNNING on, and none (not the agent\'s) before', () => {
    const containerId = run(aTask('t1', { container: { type: 'MESOS', network_infos: [{ name: 'blue' }] } }));
    const blue = { name: 'blue', ip_addresses: [{ protocol: 'IPv4', ip_address: '10.88.1.2' }] };
    h.send({ kind: 'containerLaunched', containerId, pid: 4242, networkInfos: [blue] });
    h.ackAll();
    const [starting, running] = h.core.frameworks.get('f1')!.executors.get('t1')!.task.statuses;
    expect(starting!.container_status?.network_infos).toEqual([]);
    expect(running!.container_status?.network_infos).toEqual([blue]);
  });

  it('forwards RUNNING only after STARTING is acknowledged, with latest_state ahead of it', () => {
    const containerId = run(aTask('t1'));
    h.send({ kind: 'containerLaunched', containerId, pid: 1 });
    const forwards = h.effects.filter((e) => e.kind === 'forwardStatus');
    expect(forwards).toHaveLength(1);
    expect(forwards[0]).toMatchObject({ status: { state: 'TASK_STARTING' }, latestState: 'TASK_STARTING' });
    h.send({ kind: 'containerExited', containerId, exit: { code: 3, description: 'exited with status 3' } });
    h.effects = [];
    // Resent after 10 s, now telling the master the task is already terminal.
    h.clock.advanceMs(10_000);
    h.send({ kind: 'timerFired', timer: { kind: 'statusUpdateRetry', frameworkId: 'f1', taskId: 't1' } });
    expect(h.effects.find((e) => e.kind === 'forwardStatus')).toMatchObject({
      status: { state: 'TASK_STARTING' },
      latestState: 'TASK_FAILED',
    });
  });

  it('runs the shell form under /bin/sh with the Mesos environment, the task environment winning', () => {
    run(aTask('t1', { command: { value: 'env', environment: { variables: [{ name: 'PATH', value: '/opt/bin' }] } } }));
    const launch = h.launched();
    const sandbox = `/var/agora/slaves/A-S0/frameworks/f1/executors/t1/runs/${launch.containerId}`;
    expect(launch).toMatchObject({ directory: sandbox, command: { shell: true, value: 'env' }, user: 'alice' });
    expect(launch.env).toMatchObject({
      PATH: '/opt/bin',
      HOME: sandbox,
      MESOS_SANDBOX: sandbox,
      MESOS_DIRECTORY: sandbox,
      MESOS_TASK_ID: 't1',
      MESOS_EXECUTOR_ID: 't1',
      MESOS_FRAMEWORK_ID: 'f1',
      MESOS_AGENT_ENDPOINT: '10.0.0.1:5051',
      MESOS_SLAVE_ID: 'A-S0',
      MESOS_CHECKPOINT: '0',
    });
  });

  it('execs the argv form with arguments as argv and CommandInfo.user over FrameworkInfo.user', () => {
    run(aTask('t1', { command: { shell: false, value: '/bin/echo', arguments: ['echo', 'a b'], user: 'bob' } }));
    expect(h.launched()).toMatchObject({ command: { shell: false, value: '/bin/echo', argv: ['echo', 'a b'] }, user: 'bob' });
  });

  it('fails a task it cannot run with REASON_CONTAINER_LAUNCH_FAILED, from the agent, without STARTING', () => {
    h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: framework(), task: aTask('t1', { command: { value: 'x', uris: [{ value: 'http://x/y.tgz' }] } }) });
    const [failed] = h.takeForwarded();
    expect(failed).toMatchObject({ state: 'TASK_FAILED', source: 'SOURCE_AGENT', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(failed!.message).toMatch(/fetcher/);
    expect(h.effects.some((e) => e.kind === 'launchContainer')).toBe(false);
    expect(h.core.counters.containerLaunchErrors).toBe(1);
  });

  it('reports a launch failure with the OS error', () => {
    const containerId = run(aTask('t1'));
    h.send({ kind: 'containerLaunchFailed', containerId, message: "Failed to execute '/nope': No such file or directory (ENOENT)" });
    h.ackAll();
    const statuses = h.core.completedFrameworks[0]!.completedExecutors[0]!.task.statuses;
    expect(statuses.map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_FAILED']);
    expect(statuses[1]).toMatchObject({ source: 'SOURCE_AGENT', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: expect.stringMatching(/ENOENT/) });
  });
});

describe('AgentCore: killing', () => {
  it('sends KILLING (with the capability), SIGTERM, then SIGKILL after the grace period, then KILLED', () => {
    const containerId = run(aTask('t1'), framework({ capabilities: [{ type: 'TASK_KILLING_STATE' }] }));
    h.send({ kind: 'containerLaunched', containerId, pid: 1 });
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1', killPolicy: { grace_period: { nanoseconds: 2e9 } } });
    expect(h.signals()).toEqual(['SIGTERM']);
    expect(h.timerAt('killEscalation')).toBe(h.clock.monotonicMs() + 2_000);

    h.clock.advanceMs(2_000);
    h.send({ kind: 'timerFired', timer: { kind: 'killEscalation', containerId } });
    expect(h.signals()).toEqual(['SIGTERM', 'SIGKILL']);
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGKILL', description: 'terminated with signal Killed' } });
    expect(h.ackAll()).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    const killed = h.core.completedFrameworks[0]!.completedExecutors[0]!.task.statuses[3]!;
    expect(killed).toMatchObject({ source: 'SOURCE_EXECUTOR', message: 'Command terminated with signal Killed' });
  });

  it('uses the TaskInfo kill policy, else 3 s, and skips KILLING without the capability', () => {
    const containerId = run(aTask('t1', { kill_policy: { grace_period: { nanoseconds: 500e6 } } }));
    h.send({ kind: 'containerLaunched', containerId, pid: 1 });
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1' });
    expect(h.timerAt('killEscalation')).toBe(500);
    const other = run(aTask('t2'));
    h.send({ kind: 'containerLaunched', containerId: other, pid: 2 });
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't2' });
    expect(h.timerAt('killEscalation')).toBe(3_000);
    expect(h.takeForwarded().map((s) => s.state)).not.toContain('TASK_KILLING');
  });

  it('lets a second kill shorten the grace period, never extend it', () => {
    const containerId = run(aTask('t1'));
    h.send({ kind: 'containerLaunched', containerId, pid: 1 });
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1', killPolicy: { grace_period: { nanoseconds: 10e9 } } });
    h.clock.advanceMs(1_000);
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1', killPolicy: { grace_period: { nanoseconds: 60e9 } } });
    expect(h.timerAt('killEscalation')).toBe(10_000);
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1', killPolicy: { grace_period: { nanoseconds: 1e9 } } });
    expect(h.timerAt('killEscalation')).toBe(2_000);
    expect(h.signals()).toEqual(['SIGTERM']); // Still one SIGTERM.
  });

  it('kills a task whose kill arrives during launch as soon as it exists, without RUNNING', () => {
    const containerId = run(aTask('t1'));
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1' });
    expect(h.signals()).toEqual([]);
    h.send({ kind: 'containerLaunched', containerId, pid: 7 });
    expect(h.signals()).toEqual(['SIGTERM']);
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGTERM', description: 'terminated with signal Terminated' } });
    expect(h.ackAll()).toEqual(['TASK_STARTING', 'TASK_KILLED']);
  });

  it('answers a kill of an unknown task with TASK_LOST, or TASK_DROPPED for partition-aware frameworks, once', () => {
    h.send({ kind: 'killTask', frameworkId: 'f9', taskId: 'ghost' });
    h.send({ kind: 'killTask', frameworkId: 'f9', taskId: 'ghost' });
    const lost = h.takeForwarded();
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ state: 'TASK_LOST', source: 'SOURCE_AGENT', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Cannot find executor' });

    run(aTask('t1'), framework({ capabilities: [{ type: 'PARTITION_AWARE' }] }));
    h.takeForwarded();
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 'ghost' });
    expect(h.takeForwarded()[0]).toMatchObject({ state: 'TASK_DROPPED' });
  });

  it('fails a task at its max_completion_time with REASON_MAX_COMPLETION_TIME_REACHED', () => {
    const containerId = run(aTask('t1', { max_completion_time: { nanoseconds: 5e9 } }));
    h.send({ kind: 'containerLaunched', containerId, pid: 1 });
    expect(h.timerAt('maxCompletion')).toBe(5_000);
    h.clock.advanceMs(5_000);
    h.send({ kind: 'timerFired', timer: { kind: 'maxCompletion', containerId } });
    expect(h.signals()).toEqual(['SIGTERM']);
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGTERM', description: 'terminated with signal Terminated' } });
    h.ackAll();
    const failed = h.core.completedFrameworks[0]!.completedExecutors[0]!.task.statuses.at(-1)!;
    expect(failed).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_MAX_COMPLETION_TIME_REACHED' });
  });

  it('shuts a framework down: kills its containers and drops its updates', () => {
    const containerId = run(aTask('t1'));
    h.send({ kind: 'containerLaunched', containerId, pid: 1 });
    const effects = h.send({ kind: 'shutdownFramework', frameworkId: 'f1' });
    expect(effects.map((e) => e.kind)).toEqual(['cancelTimer', 'signalContainer', 'startTimer']);
    expect(h.timerAt('killEscalation')).toBe(3_000);
    h.takeForwarded();
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGTERM', description: 'terminated with signal Terminated' } });
    expect(h.takeForwarded()).toEqual([]);
    expect(h.core.frameworks.size).toBe(0);
    expect(h.core.completedFrameworks).toHaveLength(1);
    expect(h.core.taskReports()).toEqual([]);
  });

  it('shuts every container down on agent shutdown, with the shorter of kill and shutdown grace', () => {
    const a = run(aTask('t1', { kill_policy: { grace_period: { nanoseconds: 60e9 } } }));
    h.send({ kind: 'containerLaunched', containerId: a, pid: 1 });
    expect(h.core.liveContainerCount()).toBe(1);
    h.send({ kind: 'shutdown' });
    expect(h.signals()).toEqual(['SIGTERM']);
    expect(h.timerAt('killEscalation')).toBe(5_000);
  });
});

describe('AgentCore: the master link', () => {
  it('reports tasks with their latest state and the update in flight when resubscribing', () => {
    const containerId = run(aTask('t1'), framework({ checkpoint: true }));
    h.send({ kind: 'containerLaunched', containerId, pid: 1 });
    const [starting] = h.takeForwarded();
    h.send({ kind: 'disconnected' });
    const [report] = h.core.taskReports();
    expect(report).toMatchObject({
      framework_id: { value: 'f1' },
      task: { task_id: { value: 't1' } },
      state: 'TASK_RUNNING',
      status_update_state: 'TASK_STARTING',
      status_update_uuid: starting!.uuid,
    });
    expect(h.core.frameworkInfos()).toEqual([{ user: 'alice', name: 'fw', checkpoint: true, id: { value: 'f1' } }]);
    // Nothing is forwarded while disconnected; the head is resent on resubscription.
    h.send({ kind: 'containerExited', containerId, exit: { code: 0, description: 'exited with status 0' } });
    expect(h.takeForwarded()).toEqual([]);
    h.send({ kind: 'subscribed', agentId: 'A-S0' });
    expect(h.takeForwarded().map((s) => s.uuid)).toEqual([starting!.uuid]);
  });
});
