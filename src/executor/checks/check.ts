/**
 * A task's check (CheckInfo) as a state machine (Mesos's Checker): probes on the schedule and
 * reports the CheckStatusInfo each time it changes. It never kills. Pure.
 */
import type { CheckInfo, CheckStatusInfo } from '../../api/index.js';
import { checkProbe, checkTiming, describeProbe, type CheckTiming, type Probe } from './policy.js';
import { checkStatusOf, emptyCheckStatus, type ProbeResult, sameCheckStatus } from './results.js';
import { type CheckNote, ProbeSchedule, type ScheduleEffect, type SchedulePhase } from './schedule.js';

/** A check update to send: a status with the new check_status and REASON_TASK_CHECK_STATUS_UPDATED. */
export interface CheckStatusUpdate {
  kind: 'checkStatus';
  status: CheckStatusInfo;
}

export type CheckEffect = ScheduleEffect | CheckStatusUpdate | CheckNote;

export class CheckMachine {
  readonly timing: CheckTiming;
  readonly probe: Probe;
  private readonly schedule: ProbeSchedule;
  private current: CheckStatusInfo;

  /** `check` must be valid (api's parseCheckInfo). */
  constructor(check: CheckInfo) {
    this.timing = checkTiming(check);
    this.probe = checkProbe(check);
    this.schedule = new ProbeSchedule(this.timing, this.probe);
    this.current = emptyCheckStatus(this.probe.type);
  }

  /** The latest result; before the first (and after a failed probe) an empty one of the check's type. */
  get status(): CheckStatusInfo {
    return this.current;
  }

  /** What every update of the task carries until a check update replaces it (Mesos: present from the start). */
  get emptyStatus(): CheckStatusInfo {
    return emptyCheckStatus(this.probe.type);
  }

  get phase(): SchedulePhase {
    return this.schedule.phase;
  }

  start(nowMs: number): CheckEffect[] {
    return this.schedule.start(nowMs);
  }

  timerFired(nowMs: number): CheckEffect[] {
    const { effects, timedOut } = this.schedule.timerFired(nowMs);
    if (!timedOut) return effects;
    const seconds = (this.timing.timeoutMs ?? 0) / 1000;
    const note: CheckNote = { kind: 'note', message: `Check ${describeProbe(this.probe)} did not finish within ${seconds} s` };
    return [note, ...this.report(emptyCheckStatus(this.probe.type)), ...effects];
  }

  probeFinished(attempt: number, result: ProbeResult, nowMs: number): CheckEffect[] {
    const next = this.schedule.finished(attempt, nowMs);
    if (next === undefined) return [];
    const note: CheckNote[] = result.type === 'failed' ? [{ kind: 'note', message: `Check ${describeProbe(this.probe)} failed: ${result.message}` }] : [];
    return [...note, ...this.report(checkStatusOf(this.probe, result)), ...next];
  }

  pause(): CheckEffect[] {
    return this.schedule.pause();
  }

  resume(nowMs: number): CheckEffect[] {
    return this.schedule.resume(nowMs);
  }

  private report(status: CheckStatusInfo): CheckStatusUpdate[] {
    if (sameCheckStatus(status, this.current)) return [];
    this.current = status;
    return [{ kind: 'checkStatus', status }];
  }
}
