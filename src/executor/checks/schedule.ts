/**
 * The schedule every check follows (Mesos's CheckerProcess): the first probe after the delay,
 * each next one an interval after the previous ended, a probe abandoned after the timeout.
 * Pure: it owns one timer, which it asks its driver to arm, and never reads a clock.
 */
import { assert } from '../../base/index.js';
import type { CheckTiming, Probe } from './policy.js';

/** What a schedule asks of its driver. */
export type ScheduleEffect =
  /** Call timerFired() at `atMs` (monotonic); replaces the timer armed before, if any. */
  | { kind: 'arm'; atMs: number }
  | { kind: 'disarm' }
  /** Start `probe` now and report its result with `attempt`. */
  | { kind: 'probe'; attempt: number; probe: Probe }
  /** Stop the probe of `attempt` (it timed out, or checking paused); its result will be ignored. */
  | { kind: 'abort'; attempt: number };

/** Something worth a line in the operator's log that is not an update (a failure in the grace period). */
export interface CheckNote {
  kind: 'note';
  message: string;
}

/**
 *   idle --start--> waiting --timer--> probing --result or timeout--> waiting ...
 *   waiting|probing --pause--> paused --resume--> waiting (a probe at once)
 */
export type SchedulePhase = 'idle' | 'waiting' | 'probing' | 'paused';

export class ProbeSchedule {
  private phaseValue: SchedulePhase = 'idle';
  private attempt = 0;

  constructor(
    readonly timing: CheckTiming,
    readonly probe: Probe,
  ) {}

  get phase(): SchedulePhase {
    return this.phaseValue;
  }

  start(nowMs: number): ScheduleEffect[] {
    assert(this.phaseValue === 'idle', `a check schedule starts once (it is ${this.phaseValue})`);
    this.phaseValue = 'waiting';
    return [{ kind: 'arm', atMs: nowMs + this.timing.delayMs }];
  }

  /**
   * The armed timer went off: a probe starts, or the one running ran out of time (`timedOut`,
   * and the next is scheduled). A late timer of a paused or idle schedule does nothing.
   */
  timerFired(nowMs: number): { effects: ScheduleEffect[]; timedOut: boolean } {
    if (this.phaseValue === 'waiting') {
      this.phaseValue = 'probing';
      this.attempt++;
      const { timeoutMs } = this.timing;
      return {
        effects: [
          { kind: 'probe', attempt: this.attempt, probe: this.probe },
          ...(timeoutMs === undefined ? [] : [{ kind: 'arm' as const, atMs: nowMs + timeoutMs }]),
        ],
        timedOut: false,
      };
    }
    if (this.phaseValue === 'probing' && this.timing.timeoutMs !== undefined) {
      this.phaseValue = 'waiting';
      return { effects: [{ kind: 'abort', attempt: this.attempt }, this.next(nowMs)], timedOut: true };
    }
    return { effects: [], timedOut: false };
  }

  /**
   * The probe of `attempt` answered. Returns the effects (the next probe's timer), or undefined
   * when the answer is stale (it timed out, or checking paused since) and must be ignored.
   */
  finished(attempt: number, nowMs: number): ScheduleEffect[] | undefined {
    if (this.phaseValue !== 'probing' || attempt !== this.attempt) return undefined;
    this.phaseValue = 'waiting';
    return [this.next(nowMs)];
  }

  /** Stops probing (the task is being killed, or has ended); a probe in flight is abandoned. */
  pause(): ScheduleEffect[] {
    if (this.phaseValue === 'paused' || this.phaseValue === 'idle') return [];
    const probing = this.phaseValue === 'probing';
    this.phaseValue = 'paused';
    return [{ kind: 'disarm' }, ...(probing ? [{ kind: 'abort' as const, attempt: this.attempt }] : [])];
  }

  /** Probes again at once, then on the interval (Mesos's Checker::resume). */
  resume(nowMs: number): ScheduleEffect[] {
    if (this.phaseValue !== 'paused') return [];
    this.phaseValue = 'waiting';
    return [{ kind: 'arm', atMs: nowMs }];
  }

  private next(nowMs: number): ScheduleEffect {
    return { kind: 'arm', atMs: nowMs + this.timing.intervalMs };
  }
}
