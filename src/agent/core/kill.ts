/**
 * The kill protocol of the built-in executors (facts 8.7): SIGTERM to the container, then
 * SIGKILL when the grace period is over. Pure: returns the signals and timers to carry out.
 */
import type { KillPolicy } from '../../api/index.js';
import { DEFAULT_KILL_GRACE_PERIOD_MS, type KillCause } from './command-executor.js';
import type { AgentEffect } from './effects.js';
import type { ExecutorEntry } from './state.js';

/** The grace period a KillPolicy gives (KILL_TASK's overrides the TaskInfo's), 3 s by default. */
export function gracePeriodMs(policy: KillPolicy | undefined): number {
  const ns = policy?.grace_period?.nanoseconds;
  return ns === undefined ? DEFAULT_KILL_GRACE_PERIOD_MS : Math.max(0, ns / 1e6);
}

/**
 * Asks for `executor`'s container to die. The first request decides the cause; a later one may
 * shorten the grace period, never extend it. A container still launching is signalled once it
 * exists (startKill from the core's containerLaunched handler).
 */
export function requestKill(executor: ExecutorEntry, cause: KillCause, graceMs: number, nowMs: number): AgentEffect[] {
  if (executor.phase === 'exited' || executor.phase === 'none') return [];
  const kill = executor.kill;
  if (kill === undefined) {
    executor.kill = { cause, graceMs };
    return executor.phase === 'running' ? startKill(executor, nowMs) : [];
  }
  if (kill.escalateAtMs === undefined) {
    kill.graceMs = Math.min(kill.graceMs, graceMs);
    return [];
  }
  const atMs = nowMs + graceMs;
  if (atMs >= kill.escalateAtMs) return [];
  kill.escalateAtMs = atMs;
  return [{ kind: 'startTimer', timer: { kind: 'killEscalation', containerId: executor.containerId }, atMs }];
}

/** SIGTERM now, and the timer for SIGKILL. The executor must have a kill request and a process. */
export function startKill(executor: ExecutorEntry, nowMs: number): AgentEffect[] {
  const kill = executor.kill!;
  kill.escalateAtMs = nowMs + kill.graceMs;
  return [
    { kind: 'signalContainer', containerId: executor.containerId, signal: 'SIGTERM' },
    { kind: 'startTimer', timer: { kind: 'killEscalation', containerId: executor.containerId }, atMs: kill.escalateAtMs },
  ];
}
