import { beforeEach, describe, expect, it } from 'vitest';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../../api/index.js';
import { ManualClock, SequentialIds } from '../../base/index.js';
import type { ProbeResult } from '../../executor/checks/core.js';
import { AgentCore } from './agent-core.js';
import type { CheckerKind } from './checks.js';
import type { AgentEffect, AgentInput } from './effects.js';

/** An AgentCore with a ManualClock whose timers fire when the clock passes them. */
class Harness {
  readonly clock = new ManualClock();
  readonly core = new AgentCore({
    clock: this.clock,
    ids: new SequentialIds(7),
    config: { workDir: '/var/agora', ip: '10.0.0.1', port: 5051, executorShutdownGracePeriodMs: 5_000 },
  });
  effects: AgentEffect[] = [];
  private readonly timers = new Map<string, { atMs: number; input: AgentInput }>();

  constructor() {
    this.send({ kind: 'subscribed', agentId: 'A-S0' });
  }

  send(input: AgentInput): void {
    for (const effect of this.core.handle(input)) {
      this.effects.push(effect);
      if (effect.kind === 'startTimer') this.timers.set(key(effect.timer), { atMs: effect.atMs, input: { kind: 'timerFired', timer: effect.timer } });
      if (effect.kind === 'cancelTimer') this.timers.delete(key(effect.timer));
    }
  }

  /** Moves time on, firing due timers in order. */
  advance(ms: number): void {
    const end = this.clock.monotonicMs() + ms;
    for (;;) {
      const next = [...this.timers.entries()].filter(([, t]) => t.atMs <= end).sort((a, b) => a[1].atMs - b[1].atMs)[0];
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.clock.advanceMs(next[1].atMs - this.clock.monotonicMs());
      this.send(next[1].input);
    }
    this.clock.advanceMs(end - this.clock.monotonicMs());
  }

  armed(kind: string): number | undefined {
    return [...this.timers.entries()].find(([k]) => k.startsWith(`${kind}\u0000`))?.[1].atMs;
  }

  /** The probes asked for and not yet answered or aborted, oldest first. */
  probes(): Array<Extract<AgentEffect, { kind: 'runCheck' }>> {
    const aborted = new Set(this.effects.flatMap((e) => (e.kind === 'abortCheck' ? [`${e.checker}/${e.attempt}`] : [])));
    return this.effects.flatMap((e) => (e.kind === 'runCheck' && !aborted.has(`${e.checker}/${e.attempt}`) ? [e] : []));
  }

  /** Answers the latest probe of `checker`. */
  answer(checker: CheckerKind, result: ProbeResult): void {
    const probe = this.probes().findLast((p) => p.checker === checker);
    if (probe === undefined) throw new Error(`no ${checker} probe to answer`);
    this.effects = this.effects.filter((e) => e !== probe);
    this.send({ kind: 'checkResult', containerId: probe.containerId, checker, attempt: probe.attempt, result });
  }

  statuses(taskId = 't1'): TaskStatus[] {
    const framework = this.core.frameworks.get('f1') ?? this.core.completedFrameworks.at(-1);
    const executor = framework?.executors.get(taskId) ?? framework?.completedExecutors.findLast((e) => e.id === taskId);
    return executor?.task.statuses ?? [];
  }

  signals(): string[] {
    return this.effects.flatMap((e) => (e.kind === 'signalContainer' ? [e.signal] : []));
  }
}

function key(timer: { kind: string; containerId?: string; taskId?: string }): string {
  return `${timer.kind}\u0000${timer.containerId ?? timer.taskId}`;
}

const killingFramework: FrameworkInfo = { user: 'alice', name: 'fw', capabilities: [{ type: 'TASK_KILLING_STATE' }] };

function aTask(extra: Partial<TaskInfo>): TaskInfo {
  return {
    name: 't1',
    task_id: { value: 't1' },
    agent_id: { value: 'A-S0' },
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }],
    command: { value: 'serve' },
    ...extra,
  };
}

const ok: ProbeResult = { type: 'HTTP', statusCode: 200 };
const notFound: ProbeResult = { type: 'HTTP', statusCode: 404 };

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

/** Runs the task and reports its container running; returns the container id. */
function launch(task: TaskInfo, info: FrameworkInfo = killingFramework): string {
  h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: info, task });
  const launched = h.effects.findLast((e) => e.kind === 'launchContainer');
  if (launched?.kind !== 'launchContainer') throw new Error('not launched');
  h.send({ kind: 'containerLaunched', containerId: launched.launch.containerId, pid: 4242 });
  return launched.launch.containerId;
}

const summary = (s: TaskStatus) =>
  [s.state, s.reason ?? '', s.healthy === undefined ? '' : `healthy=${s.healthy}`].filter((x) => x !== '').join(' ');

describe('AgentCore: health checks of command tasks', () => {
  const healthCheck = {
    type: 'HTTP',
    http: { port: 8080, path: '/health' },
    delay_seconds: 1,
    interval_seconds: 2,
    timeout_seconds: 1,
    grace_period_seconds: 0,
    consecutive_failures: 2,
  };

  it('probes after the delay, reports the first success and every failure, and kills the task after consecutive_failures', () => {
    const containerId = launch(aTask({ health_check: healthCheck, kill_policy: { grace_period: { nanoseconds: 4e9 } } }));
    expect(h.armed('healthCheck')).toBe(1000);
    h.advance(1000);
    expect(h.probes()).toMatchObject([
      { containerId, checker: 'healthCheck', attempt: 1, probe: { type: 'HTTP', host: '127.0.0.1', port: 8080, path: '/health' } },
    ]);
    h.answer('healthCheck', ok);
    h.advance(2000);
    h.answer('healthCheck', ok); // healthy again: nothing new
    h.advance(2000);
    h.answer('healthCheck', notFound);
    h.advance(2000);
    h.answer('healthCheck', notFound);
    expect(h.statuses().map(summary)).toEqual([
      'TASK_STARTING',
      'TASK_RUNNING',
      'TASK_RUNNING REASON_TASK_HEALTH_CHECK_STATUS_UPDATED healthy=true',
      'TASK_RUNNING REASON_TASK_HEALTH_CHECK_STATUS_UPDATED healthy=false',
      'TASK_RUNNING REASON_TASK_HEALTH_CHECK_STATUS_UPDATED healthy=false',
      'TASK_KILLING',
    ]);
    expect(h.statuses()[3]).toMatchObject({ source: 'SOURCE_EXECUTOR', message: 'HTTP GET http://127.0.0.1:8080/health answered 404' });
    // The kill policy's grace period: SIGTERM now, SIGKILL in 4 s; no more probes.
    expect(h.signals()).toEqual(['SIGTERM']);
    expect(h.armed('killEscalation')).toBe(h.clock.monotonicMs() + 4000);
    expect(h.armed('healthCheck')).toBeUndefined();
    h.advance(60_000);
    expect(h.probes()).toHaveLength(0);
    expect(h.signals()).toEqual(['SIGTERM', 'SIGKILL']);

    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGKILL', description: 'terminated with signal Killed' } });
    expect(h.statuses().at(-1)).toMatchObject({
      state: 'TASK_KILLED',
      healthy: false,
      message: 'Task killed after failing its health check; Command terminated with signal Killed',
    });
    expect(h.statuses().at(-1)!.reason).toBeUndefined();
  });

  it('sends no TASK_KILLING to a framework without TASK_KILLING_STATE', () => {
    launch(aTask({ health_check: { ...healthCheck, consecutive_failures: 1 } }), { user: 'alice', name: 'plain' });
    h.advance(1000);
    h.answer('healthCheck', notFound);
    expect(h.statuses().map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING']);
    expect(h.signals()).toEqual(['SIGTERM']);
  });

  it('counts a probe that outlives timeout_seconds as a failure and aborts it', () => {
    launch(aTask({ health_check: { ...healthCheck, consecutive_failures: 3 } }));
    h.advance(1000);
    const [probe] = h.probes();
    h.advance(1000);
    expect(h.effects).toContainEqual({ kind: 'abortCheck', containerId: probe!.containerId, checker: 'healthCheck', attempt: 1 });
    expect(h.statuses().at(-1)).toMatchObject({ healthy: false, message: 'HTTP GET http://127.0.0.1:8080/health did not finish within 1 s' });
    // The late answer changes nothing.
    h.send({ kind: 'checkResult', containerId: probe!.containerId, checker: 'healthCheck', attempt: 1, result: ok });
    expect(h.statuses()).toHaveLength(3);
  });

  it('stops checking a task the framework kills: the timer is cancelled and a probe in flight aborted', () => {
    launch(aTask({ health_check: healthCheck }));
    h.advance(1000);
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1' });
    expect(h.probes()).toHaveLength(0);
    expect(h.armed('healthCheck')).toBeUndefined();
    h.advance(10_000);
    expect(h.statuses().map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING']);
  });

  it('ignores failures in the grace period, which counts from the launch', () => {
    launch(aTask({ health_check: { ...healthCheck, grace_period_seconds: 4 } }));
    h.advance(1000);
    h.answer('healthCheck', notFound);
    h.advance(2000);
    h.answer('healthCheck', notFound);
    expect(h.statuses()).toHaveLength(2);
    h.advance(2000); // t = 5 s: past the grace period
    h.answer('healthCheck', notFound);
    expect(h.statuses().map(summary).slice(2)).toEqual(['TASK_RUNNING REASON_TASK_HEALTH_CHECK_STATUS_UPDATED healthy=false']);
    expect(h.effects.some((e) => e.kind === 'log' && e.message.includes('Ignoring a failed health check in the grace period'))).toBe(true);
  });

  it('fails a task whose health check the agent cannot run, naming the field', () => {
    h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: killingFramework, task: aTask({ health_check: { type: 'TCP' } }) });
    expect(h.statuses().map((s) => [s.state, s.reason, s.message])).toEqual([
      ['TASK_FAILED', 'REASON_CONTAINER_LAUNCH_FAILED', "Task uses an invalid health check: health_check.tcp: required field is missing: a TCP health check needs 'tcp'"],
    ]);
    expect(h.effects.some((e) => e.kind === 'launchContainer')).toBe(false);
  });
});

describe('AgentCore: checks of command tasks', () => {
  const check = { type: 'COMMAND', command: { command: { value: 'test -f ready' } }, delay_seconds: 0, interval_seconds: 1 };

  it('carries an empty check_status from the start and reports each change with REASON_TASK_CHECK_STATUS_UPDATED', () => {
    const containerId = launch(aTask({ check }));
    h.advance(0);
    h.answer('check', { type: 'COMMAND', exitCode: 1 });
    h.advance(1000);
    h.answer('check', { type: 'COMMAND', exitCode: 1 });
    h.advance(1000);
    h.answer('check', { type: 'COMMAND', exitCode: 0 });
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1' });
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGTERM', description: 'terminated with signal Terminated' } });
    expect(h.statuses().map((s) => [s.state, s.reason, s.check_status])).toEqual([
      ['TASK_STARTING', undefined, { type: 'COMMAND', command: {} }],
      ['TASK_RUNNING', undefined, { type: 'COMMAND', command: {} }],
      ['TASK_RUNNING', 'REASON_TASK_CHECK_STATUS_UPDATED', { type: 'COMMAND', command: { exit_code: 1 } }],
      ['TASK_RUNNING', 'REASON_TASK_CHECK_STATUS_UPDATED', { type: 'COMMAND', command: { exit_code: 0 } }],
      ['TASK_KILLING', undefined, { type: 'COMMAND', command: {} }],
      ['TASK_KILLED', undefined, { type: 'COMMAND', command: {} }],
    ]);
    expect(h.statuses().every((s) => s.healthy === undefined)).toBe(true);
  });

  it('lets health and check updates carry each other\'s latest value, as Mesos copies the last status', () => {
    launch(aTask({ check: { type: 'TCP', tcp: { port: 5432 }, delay_seconds: 0 }, health_check: { type: 'TCP', tcp: { port: 5432 }, delay_seconds: 0, grace_period_seconds: 0 } }));
    h.advance(0);
    h.answer('check', { type: 'TCP', succeeded: true });
    h.answer('healthCheck', { type: 'TCP', succeeded: true });
    expect(h.statuses().slice(2).map((s) => [s.reason, s.healthy, s.check_status])).toEqual([
      ['REASON_TASK_CHECK_STATUS_UPDATED', undefined, { type: 'TCP', tcp: { succeeded: true } }],
      ['REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', true, { type: 'TCP', tcp: { succeeded: true } }],
    ]);
  });

  it('never kills, however often the check fails', () => {
    launch(aTask({ check: { ...check, type: 'COMMAND' } }));
    for (let i = 0; i < 20; i++) {
      h.advance(1000);
      h.answer('check', { type: 'COMMAND', exitCode: i % 2 });
    }
    expect(h.signals()).toEqual([]);
    expect(h.statuses().at(-1)!.state).toBe('TASK_RUNNING');
  });
});
