import { beforeEach, describe, expect, it } from 'vitest';
import type { ExecutorInfo, FrameworkInfo, TaskInfo, TaskStatus } from '../../api/index.js';
import { ManualClock, SequentialIds } from '../../base/index.js';
import { AgentCore } from './agent-core.js';
import type { AgentEffect, AgentInput } from './effects.js';
import type { RecoveredContainerState, RecoveredRun } from './recovery.js';

/** A core that starts from a checkpoint: `recover` first, then the master's SUBSCRIBED. */
class Harness {
  readonly core = new AgentCore({
    clock: new ManualClock(),
    ids: new SequentialIds(100),
    config: { workDir: '/w', ip: '10.0.0.1', port: 5051, executorShutdownGracePeriodMs: 5_000 },
  });
  effects: AgentEffect[] = [];

  send(input: AgentInput): AgentEffect[] {
    const out = this.core.handle(input);
    this.effects.push(...out);
    return out;
  }

  recover(runs: RecoveredRun[], info: FrameworkInfo = framework()): void {
    this.send({ kind: 'recover', agentId: 'A-S0', frameworks: [{ id: 'f1', info }], runs });
    this.send({ kind: 'subscribed', agentId: 'A-S0' });
  }

  forwarded(): TaskStatus[] {
    return this.effects.flatMap((e) => (e.kind === 'forwardStatus' ? [e.status] : []));
  }
}

const framework = (extra: Partial<FrameworkInfo> = {}): FrameworkInfo => ({ user: 'alice', name: 'fw', checkpoint: true, ...extra });
const task = (id: string): TaskInfo => ({ name: id, task_id: { value: id }, agent_id: { value: 'A-S0' }, resources: [], command: { value: 'sleep 9' } });
const status = (id: string, state: TaskStatus['state'], uuid: string): TaskStatus => ({ task_id: { value: id }, state, source: 'SOURCE_EXECUTOR', uuid });

/** A command task's run whose stream is `states` with the first `acked` acknowledged. */
function commandRun(id: string, states: TaskStatus['state'][], acked: number, container: RecoveredContainerState): RecoveredRun {
  const statuses = states.map((s, i) => status(id, s, `${id}-u${i}`));
  return { frameworkId: 'f1', executorId: id, containerId: `c-${id}`, tasks: [{ info: task(id), statuses, pending: statuses.slice(acked) }], container };
}

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

describe('agent recovery in the core', () => {
  it('keeps a running task and sends its unacknowledged update again, the same update', () => {
    h.recover([commandRun('t1', ['TASK_STARTING', 'TASK_RUNNING'], 1, { kind: 'running', pid: 42 })]);
    expect(h.forwarded().map((s) => s.uuid)).toEqual(['t1-u1']);
    expect(h.core.taskReports()).toMatchObject([{ task: { task_id: { value: 't1' } }, state: 'TASK_RUNNING', status_update_uuid: 't1-u1' }]);
    expect(h.core.liveContainerCount()).toBe(1);
  });

  it('sends TASK_RUNNING for a running task the previous agent never reported running', () => {
    h.recover([commandRun('t1', ['TASK_STARTING'], 1, { kind: 'running', pid: 42 })]);
    expect(h.forwarded()).toMatchObject([{ state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', executor_id: { value: 't1' } }]);
  });

  it('arms max_completion_time for what is left of it, counted from the first update', () => {
    const clock = new ManualClock();
    clock.advanceMs(100_000);
    const core = new AgentCore({ clock, ids: new SequentialIds(1), config: { workDir: '/w', ip: '10.0.0.1', port: 5051, executorShutdownGracePeriodMs: 5_000 } });
    const run = commandRun('t1', ['TASK_STARTING', 'TASK_RUNNING'], 2, { kind: 'running', pid: 42 });
    run.tasks[0]!.info.max_completion_time = { nanoseconds: 60e9 };
    run.tasks[0]!.statuses[0]!.timestamp = (clock.realtimeMs() - 50_000) / 1000;
    const effects = core.handle({ kind: 'recover', agentId: 'A-S0', frameworks: [{ id: 'f1', info: framework() }], runs: [run] });
    expect(effects).toContainEqual({ kind: 'startTimer', timer: { kind: 'maxCompletion', containerId: 'c-t1' }, atMs: clock.monotonicMs() + 10_000 });
  });

  it('carries out a kill the previous agent had begun', () => {
    h.recover([commandRun('t1', ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING'], 3, { kind: 'running', pid: 42 })]);
    expect(h.effects).toContainEqual({ kind: 'signalContainer', containerId: 'c-t1', signal: 'SIGTERM' });
  });

  it('reports a task that ended while the agent was down with its real exit status, after the updates still owed', () => {
    h.recover([commandRun('t1', ['TASK_STARTING', 'TASK_RUNNING'], 1, { kind: 'exited', exit: { code: 3, description: 'exited with status 3' } })]);
    const sent = h.forwarded();
    expect(sent.map((s) => s.state)).toEqual(['TASK_RUNNING']); // One update in flight per task.
    h.send({ kind: 'acknowledge', frameworkId: 'f1', taskId: 't1', uuid: 't1-u1' });
    expect(h.forwarded().at(-1)).toMatchObject({ state: 'TASK_FAILED', message: 'Command exited with status 3' });
  });

  it('ends KILLED a task being killed whose container ended meanwhile', () => {
    h.recover([commandRun('t1', ['TASK_RUNNING', 'TASK_KILLING'], 2, { kind: 'exited', exit: { signal: 'SIGTERM', description: 'terminated with signal Terminated' } })]);
    expect(h.forwarded()).toMatchObject([{ state: 'TASK_KILLED' }]);
  });

  it('fails a task whose container is gone without a record', () => {
    h.recover([commandRun('t1', ['TASK_RUNNING'], 1, { kind: 'gone' })]);
    expect(h.forwarded()).toMatchObject([{ state: 'TASK_FAILED', source: 'SOURCE_AGENT', reason: 'REASON_EXECUTOR_TERMINATED' }]);
    expect(h.core.liveContainerCount()).toBe(0);
  });

  it('recovers nothing of a task that was over and acknowledged', () => {
    h.recover([commandRun('t1', ['TASK_RUNNING', 'TASK_FINISHED'], 2, { kind: 'gone' })]);
    expect(h.core.frameworks.size).toBe(0);
    expect(h.forwarded()).toEqual([]);
  });

  it('ends the tasks of a destroyed custom executor as Mesos does when an executor does not re-register', () => {
    const info: ExecutorInfo = { executor_id: { value: 'e1' }, framework_id: { value: 'f1' }, command: { value: './executor' } };
    const running = status('t1', 'TASK_RUNNING', 'u1');
    const run: RecoveredRun = {
      frameworkId: 'f1',
      executorId: 'e1',
      containerId: 'c-e1',
      executorInfo: info,
      tasks: [{ info: task('t1'), statuses: [running], pending: [] }],
      container: { kind: 'destroyed' },
    };
    h.recover([run], framework({ capabilities: [{ type: 'PARTITION_AWARE' }] }));
    expect(h.forwarded()).toMatchObject([{ state: 'TASK_GONE', reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', source: 'SOURCE_AGENT' }]);
    const other = new Harness();
    other.recover([run]);
    expect(other.forwarded()).toMatchObject([{ state: 'TASK_LOST', reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT' }]);
  });
});

describe('checkpoints the core asks for', () => {
  it('checkpoints each update of a checkpointing framework before forwarding it, and each acknowledgement', () => {
    h.send({ kind: 'subscribed', agentId: 'A-S0' });
    h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: framework(), task: task('t1') });
    const kinds = h.effects.map((e) => e.kind).filter((k) => k === 'checkpointTask' || k === 'forwardStatus');
    expect(kinds).toEqual(['checkpointTask', 'forwardStatus']);
    const [checkpoint] = h.effects.flatMap((e) => (e.kind === 'checkpointTask' ? [e.checkpoint] : []));
    expect(checkpoint).toMatchObject({ agentId: 'A-S0', frameworkId: 'f1', executorId: 't1', task: { task_id: { value: 't1' } }, record: { type: 'UPDATE' } });
    expect(checkpoint?.frameworkInfo.id).toEqual({ value: 'f1' });
    h.effects = [];
    h.send({ kind: 'acknowledge', frameworkId: 'f1', taskId: 't1', uuid: checkpoint!.record.type === 'UPDATE' ? checkpoint!.record.status.uuid! : '' });
    expect(h.effects.filter((e) => e.kind === 'checkpointTask')).toMatchObject([{ checkpoint: { record: { type: 'ACK' } } }]);
  });

  it('checkpoints nothing for a framework without checkpoint', () => {
    h.send({ kind: 'subscribed', agentId: 'A-S0' });
    h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: framework({ checkpoint: false }), task: task('t1') });
    expect(h.effects.filter((e) => e.kind === 'checkpointTask')).toEqual([]);
  });
});
