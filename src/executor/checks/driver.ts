/**
 * Runs a health check or a check machine for an executor that owns its timers (the default
 * executor): arms the machine's one timer, starts and aborts probes through an injected runner,
 * and hands updates to callbacks. Time and timers are injected, so tests drive it with a fake
 * clock; the agent's core does not use this (its shell carries the same effects out instead).
 */
import type { CheckInfo, CheckStatusInfo, HealthCheck } from '../../api/index.js';
import type { Clock } from '../../base/index.js';
import { CheckMachine, type CheckStatusUpdate } from './check.js';
import { HealthCheckMachine, type HealthUpdate } from './health.js';
import type { Probe } from './policy.js';
import type { ProbeResult } from './results.js';
import type { CheckNote, ScheduleEffect } from './schedule.js';

/** setTimeout/clearTimeout, injected. */
export interface CheckTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Runs one probe; resolves with its result. Aborting `signal` must stop it (its result is ignored). */
export type RunProbe = (probe: Probe, signal: AbortSignal) => Promise<ProbeResult>;

export interface CheckerHandle {
  /** No more probes; a probe in flight is abandoned. For a task being killed. */
  pause(): void;
  /** Probe at once, then on the interval. */
  resume(): void;
  /** For good: nothing more is reported. For a task that ended. */
  stop(): void;
}

interface DriverOptions {
  runProbe: RunProbe;
  clock: Clock;
  timers: CheckTimers;
  /** Failures in the grace period, timeouts, probes that could not run: lines for a log. */
  onNote?: (message: string) => void;
}

export interface HealthCheckOptions extends DriverOptions {
  /** Valid (api's parseHealthCheck). */
  healthCheck: HealthCheck;
  /** Send it as a TASK_RUNNING update; when `kill` is set, kill the task (checking has stopped). */
  onUpdate: (update: HealthUpdate) => void;
}

export interface CheckOptions extends DriverOptions {
  /** Valid (api's parseCheckInfo). */
  check: CheckInfo;
  /** The check's status changed: send it in an update with REASON_TASK_CHECK_STATUS_UPDATED. */
  onStatus: (status: CheckStatusInfo) => void;
}

/** Starts health checking now (the task has just started). */
export function runHealthCheck(options: HealthCheckOptions): CheckerHandle {
  const machine = new HealthCheckMachine(options.healthCheck);
  return new Driver<HealthUpdate>(machine, options, options.onUpdate).handle();
}

/** Starts checking now; `status` is what every update of the task carries meanwhile. */
export function runCheck(options: CheckOptions): CheckerHandle & { readonly status: CheckStatusInfo } {
  const machine = new CheckMachine(options.check);
  const handle = new Driver<CheckStatusUpdate>(machine, options, (update) => options.onStatus(update.status)).handle();
  return {
    ...handle,
    get status() {
      return machine.status;
    },
  };
}

interface Machine<E> {
  start(nowMs: number): E[];
  timerFired(nowMs: number): E[];
  probeFinished(attempt: number, result: ProbeResult, nowMs: number): E[];
  pause(): E[];
  resume(nowMs: number): E[];
}

/** The effects the driver carries out itself; the rest go to the caller. */
type DriverEffect = ScheduleEffect | CheckNote;
const DRIVER_EFFECTS: ReadonlySet<string> = new Set(['arm', 'disarm', 'probe', 'abort', 'note']);

function isDriverEffect(effect: { kind: string }): effect is DriverEffect {
  return DRIVER_EFFECTS.has(effect.kind);
}

class Driver<Out extends { kind: string }> {
  private timer: unknown;
  private readonly probes = new Map<number, AbortController>();
  private stopped = false;

  constructor(
    private readonly machine: Machine<DriverEffect | Out>,
    private readonly options: DriverOptions,
    private readonly output: (effect: Out) => void,
  ) {
    this.apply(machine.start(this.now()));
  }

  handle(): CheckerHandle {
    return {
      pause: () => this.apply(this.machine.pause()),
      resume: () => this.apply(this.machine.resume(this.now())),
      stop: () => {
        this.apply(this.machine.pause());
        this.stopped = true;
      },
    };
  }

  private now(): number {
    return this.options.clock.monotonicMs();
  }

  private apply(effects: (DriverEffect | Out)[]): void {
    for (const effect of effects) {
      if (this.stopped) return;
      if (isDriverEffect(effect)) this.carryOut(effect);
      else this.output(effect);
    }
  }

  private carryOut(effect: DriverEffect): void {
    switch (effect.kind) {
      case 'arm':
        this.clearTimer();
        this.timer = this.options.timers.setTimeout(
          () => {
            this.timer = undefined;
            this.apply(this.machine.timerFired(this.now()));
          },
          Math.max(0, effect.atMs - this.now()),
        );
        return;
      case 'disarm':
        return this.clearTimer();
      case 'probe':
        return this.startProbe(effect);
      case 'abort':
        this.probes.get(effect.attempt)?.abort();
        this.probes.delete(effect.attempt);
        return;
      case 'note':
        this.options.onNote?.(effect.message);
        return;
    }
  }

  private startProbe({ attempt, probe }: Extract<ScheduleEffect, { kind: 'probe' }>): void {
    const controller = new AbortController();
    this.probes.set(attempt, controller);
    const settle = (result: ProbeResult) => {
      this.probes.delete(attempt);
      if (!controller.signal.aborted) this.apply(this.machine.probeFinished(attempt, result, this.now()));
    };
    let running: Promise<ProbeResult>;
    try {
      running = this.options.runProbe(probe, controller.signal);
    } catch (err) {
      running = Promise.reject(err as Error);
    }
    running.then(settle, (err: unknown) => settle({ type: 'failed', message: err instanceof Error ? err.message : String(err) }));
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
