/**
 * Health checks and checks of command tasks, which the agent runs itself (Mesos's command
 * executor does in Mesos) with the checks library's pure machines: their timers become agent
 * timers, their probes `runCheck` effects for the shell, their results status updates, and a
 * task unhealthy `consecutive_failures` times in a row is killed. Pure, like the rest of the core.
 */
import { type CheckStatusInfo, parseCheckInfo, parseHealthCheck, type TaskInfo } from '../../api/index.js';
import { assert } from '../../base/index.js';
import { CheckMachine, HealthCheckMachine, type CheckEffect, type HealthCheckEffect, type ProbeResult } from '../../executor/checks/core.js';
import type { AgentEffect } from './effects.js';
import type { StatusFields } from './status.js';
import type { ExecutorEntry } from './state.js';

/** Which of a task's two checkers: its HealthCheck or its CheckInfo. */
export type CheckerKind = 'healthCheck' | 'check';

/** The checkers of one command task; built when it is accepted, started once it runs. */
export interface TaskCheckers {
  healthCheck?: HealthCheckMachine;
  check?: CheckMachine;
}

/** What the checks need from the core. */
export interface ChecksHost {
  nowMs(): number;
  effect(effect: AgentEffect): void;
  sendStatus(executor: ExecutorEntry, fields: StatusFields): void;
  /** Kill the task for failing its health check (TASK_KILLING first where the framework wants it). */
  killUnhealthy(executor: ExecutorEntry): void;
  log(level: 'info' | 'warn', message: string): void;
}

/** The checkers a task asks for, or undefined; the task's checks must be valid (planCommandTask refuses others). */
export function taskCheckers(task: TaskInfo): TaskCheckers | undefined {
  if (task.health_check === undefined && task.check === undefined) return undefined;
  const checkers: TaskCheckers = {};
  if (task.health_check !== undefined) {
    const parsed = parseHealthCheck(task.health_check);
    assert('value' in parsed, `task ${task.task_id.value}: its health check was validated`);
    checkers.healthCheck = new HealthCheckMachine(parsed.value);
  }
  if (task.check !== undefined) {
    const parsed = parseCheckInfo(task.check);
    assert('value' in parsed, `task ${task.task_id.value}: its check was validated`);
    checkers.check = new CheckMachine(parsed.value);
  }
  return checkers;
}

/**
 * The check_status of an update built from scratch (STARTING, RUNNING, KILLING, terminal): the
 * empty status of its type, as Mesos's command executor writes it, or none without a check.
 */
export function initialCheckStatus(executor: ExecutorEntry | undefined): CheckStatusInfo | undefined {
  return executor?.checkers?.check?.emptyStatus;
}

export class CommandTaskChecks {
  constructor(private readonly host: ChecksHost) {}

  /** The task runs: both checkers start (delay and grace period count from now). */
  start(executor: ExecutorEntry): void {
    const now = this.host.nowMs();
    const { healthCheck, check } = executor.checkers ?? {};
    if (healthCheck !== undefined) this.applyHealth(executor, healthCheck.start(now));
    if (check !== undefined) this.applyCheck(executor, check.start(now));
  }

  /** The task is being killed or is gone: no more probes, a probe in flight is abandoned. */
  stop(executor: ExecutorEntry): void {
    const { healthCheck, check } = executor.checkers ?? {};
    if (healthCheck !== undefined) this.applyHealth(executor, healthCheck.pause());
    if (check !== undefined) this.applyCheck(executor, check.pause());
  }

  timerFired(executor: ExecutorEntry, checker: CheckerKind): void {
    if (!this.active(executor)) return;
    const now = this.host.nowMs();
    if (checker === 'healthCheck') this.applyHealth(executor, executor.checkers?.healthCheck?.timerFired(now) ?? []);
    else this.applyCheck(executor, executor.checkers?.check?.timerFired(now) ?? []);
  }

  probeFinished(executor: ExecutorEntry, checker: CheckerKind, attempt: number, result: ProbeResult): void {
    if (!this.active(executor)) return;
    const now = this.host.nowMs();
    if (checker === 'healthCheck') this.applyHealth(executor, executor.checkers?.healthCheck?.probeFinished(attempt, result, now) ?? []);
    else this.applyCheck(executor, executor.checkers?.check?.probeFinished(attempt, result, now) ?? []);
  }

  /** Only a running task that nobody is killing is checked (Mesos: no updates once killed). */
  private active(executor: ExecutorEntry): boolean {
    return executor.phase === 'running' && executor.kill === undefined && executor.task.state === 'TASK_RUNNING';
  }

  private applyHealth(executor: ExecutorEntry, effects: HealthCheckEffect[]): void {
    for (const effect of effects) {
      if (effect.kind !== 'health') {
        this.schedule(executor, 'healthCheck', effect);
        continue;
      }
      if (!this.active(executor)) continue;
      const last = executor.task.statuses.at(-1);
      if (!effect.healthy) this.host.log('warn', `Task ${executor.id} is unhealthy (${effect.consecutiveFailures} in a row): ${effect.message ?? ''}`);
      // As Mesos: the update repeats the last one (its check_status) with the new `healthy`.
      this.host.sendStatus(executor, {
        state: 'TASK_RUNNING',
        source: 'SOURCE_EXECUTOR',
        reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
        healthy: effect.healthy,
        ...(effect.message === undefined ? {} : { message: effect.message }),
        ...(last?.check_status === undefined ? {} : { checkStatus: last.check_status as CheckStatusInfo }),
      });
      if (effect.kill) {
        this.host.log('warn', `Killing task ${executor.id}: it failed its health check ${effect.consecutiveFailures} times in a row`);
        this.host.killUnhealthy(executor);
      }
    }
  }

  private applyCheck(executor: ExecutorEntry, effects: CheckEffect[]): void {
    for (const effect of effects) {
      if (effect.kind !== 'checkStatus') {
        this.schedule(executor, 'check', effect);
        continue;
      }
      if (!this.active(executor)) continue;
      const last = executor.task.statuses.at(-1);
      this.host.sendStatus(executor, {
        state: 'TASK_RUNNING',
        source: 'SOURCE_EXECUTOR',
        reason: 'REASON_TASK_CHECK_STATUS_UPDATED',
        checkStatus: effect.status,
        ...(last?.healthy === undefined ? {} : { healthy: last.healthy }),
      });
    }
  }

  /** A machine's own effects: its timer, its probes, its notes. */
  private schedule(executor: ExecutorEntry, checker: CheckerKind, effect: Exclude<HealthCheckEffect | CheckEffect, { kind: 'health' | 'checkStatus' }>): void {
    const { containerId } = executor;
    const timer = { kind: checker, containerId };
    switch (effect.kind) {
      case 'arm':
        return this.host.effect({ kind: 'startTimer', timer, atMs: effect.atMs });
      case 'disarm':
        return this.host.effect({ kind: 'cancelTimer', timer });
      case 'probe':
        return this.host.effect({ kind: 'runCheck', containerId, checker, attempt: effect.attempt, probe: effect.probe });
      case 'abort':
        return this.host.effect({ kind: 'abortCheck', containerId, checker, attempt: effect.attempt });
      case 'note':
        return this.host.log('info', `Task ${executor.id}: ${effect.message}`);
    }
  }
}
