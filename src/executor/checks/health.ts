/**
 * A task's health check as a state machine (Mesos's HealthCheckerProcess): which results become
 * health updates and when the task must be killed. Pure: inputs with the time, effects out.
 *
 * - A failure counts only after the first success or once the grace period (measured from the
 *   start, delay included) is over; a failure inside the grace period is ignored silently.
 * - Every counted failure is reported (healthy=false); a success is reported when it is the
 *   first one, or the first after failures (healthy=true).
 * - The failure that makes `consecutive_failures` in a row asks for the kill, and the machine
 *   stops: a task being killed is checked no more.
 */
import type { HealthCheck } from '../../api/index.js';
import { assert } from '../../base/index.js';
import { describeProbe, healthPolicy, healthProbe, type HealthPolicy, type Probe } from './policy.js';
import { healthOf, type ProbeResult } from './results.js';
import { type CheckNote, ProbeSchedule, type ScheduleEffect, type SchedulePhase } from './schedule.js';

/** A health update to send: a TASK_RUNNING status with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED. */
export interface HealthUpdate {
  kind: 'health';
  healthy: boolean;
  /** Failures in a row, this one included (0 when healthy). */
  consecutiveFailures: number;
  /** Kill the task now (KillPolicy's grace period); it was unhealthy `consecutive_failures` times in a row. */
  kill: boolean;
  /** Why it is unhealthy. */
  message?: string;
}

export type HealthCheckEffect = ScheduleEffect | HealthUpdate | CheckNote;

export class HealthCheckMachine {
  readonly policy: HealthPolicy;
  readonly probe: Probe;
  private readonly schedule: ProbeSchedule;
  private startedAtMs = 0;
  private failures = 0;
  /** No success yet: failures inside the grace period do not count. */
  private initializing = true;
  private killRequested = false;

  /** `healthCheck` must be valid (api's parseHealthCheck). */
  constructor(healthCheck: HealthCheck) {
    this.policy = healthPolicy(healthCheck);
    this.probe = healthProbe(healthCheck);
    this.schedule = new ProbeSchedule(this.policy, this.probe);
  }

  get phase(): SchedulePhase {
    return this.schedule.phase;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** The task has started (launched, or TASK_RUNNING): the delay and the grace period begin. */
  start(nowMs: number): HealthCheckEffect[] {
    this.startedAtMs = nowMs;
    return this.schedule.start(nowMs);
  }

  timerFired(nowMs: number): HealthCheckEffect[] {
    const { effects, timedOut } = this.schedule.timerFired(nowMs);
    if (!timedOut) return effects;
    const seconds = (this.policy.timeoutMs ?? 0) / 1000;
    return this.settle(effects, this.failure(nowMs, `${describeProbe(this.probe)} did not finish within ${seconds} s`));
  }

  probeFinished(attempt: number, result: ProbeResult, nowMs: number): HealthCheckEffect[] {
    const next = this.schedule.finished(attempt, nowMs);
    if (next === undefined) return [];
    const health = healthOf(this.probe, result);
    return this.settle(next, health.healthy ? this.success() : this.failure(nowMs, health.message));
  }

  /** No more probes (the task is being killed or is gone); a probe in flight is abandoned. */
  pause(): HealthCheckEffect[] {
    return this.schedule.pause();
  }

  /** Probes again at once; not after the machine asked for a kill. */
  resume(nowMs: number): HealthCheckEffect[] {
    return this.killRequested ? [] : this.schedule.resume(nowMs);
  }

  /** The schedule's effects and the outcome; a kill stops the schedule instead of arming it. */
  private settle(scheduled: ScheduleEffect[], outcome: (HealthUpdate | CheckNote)[]): HealthCheckEffect[] {
    const kill = outcome.some((e) => e.kind === 'health' && e.kill);
    return kill ? [...outcome, ...this.schedule.pause()] : [...outcome, ...scheduled];
  }

  private success(): HealthUpdate[] {
    const report = this.initializing || this.failures > 0;
    this.initializing = false;
    this.failures = 0;
    return report ? [{ kind: 'health', healthy: true, consecutiveFailures: 0, kill: false }] : [];
  }

  private failure(nowMs: number, message: string): (HealthUpdate | CheckNote)[] {
    const { gracePeriodMs, consecutiveFailures } = this.policy;
    if (this.initializing && gracePeriodMs > 0 && nowMs - this.startedAtMs <= gracePeriodMs) {
      return [{ kind: 'note', message: `Ignoring a failed health check in the grace period: ${message}` }];
    }
    this.failures++;
    const kill = this.failures >= consecutiveFailures;
    if (kill) {
      assert(!this.killRequested, 'a health check asks for its kill once');
      this.killRequested = true;
    }
    return [{ kind: 'health', healthy: false, consecutiveFailures: this.failures, kill, message }];
  }
}
