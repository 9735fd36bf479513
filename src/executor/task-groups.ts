/**
 * The rules of the default executor (facts 8.5, 8.7), pure: how a task of a group ended, from how
 * its nested container ended, and which grace period a kill gives it. The process around them is
 * default-executor.ts.
 */
import type { KillPolicy, TaskInfo, TaskState, TaskStatusReason } from '../api/index.js';

/** The built-in executors' kill grace period without a KillPolicy (facts 8.7). */
export const DEFAULT_KILL_GRACE_MS = 3_000;

/** WAIT_CONTAINER's answer (agent.Response.WaitContainer). */
export interface ContainerTermination {
  exit_status?: number;
  state?: TaskState;
  reason?: TaskStatusReason;
  message?: string;
  limitation?: unknown;
}

/** Why the executor killed a task, if it did. */
export type KillCause = 'kill' | 'group' | 'shutdown' | 'health';

const SIGNAL_TEXT: Record<number, string> = {
  1: 'Hangup',
  2: 'Interrupt',
  3: 'Quit',
  6: 'Aborted',
  9: 'Killed',
  11: 'Segmentation fault',
  13: 'Broken pipe',
  15: 'Terminated',
};

/** "exited with status 1" or "terminated with signal Killed", from a wait status. */
export function describeWaitStatus(status: number | undefined): string {
  if (status === undefined) return 'terminated';
  const signal = status & 0x7f;
  if (signal === 0) return `exited with status ${(status >> 8) & 0xff}`;
  return `terminated with signal ${SIGNAL_TEXT[signal] ?? signal}`;
}

/**
 * The terminal update of a task whose container ended: a limit that struck (the agent says so)
 * decides; a task the executor killed is KILLED; else FINISHED on exit 0, FAILED otherwise.
 */
export function terminalStatus(
  termination: ContainerTermination,
  killed: KillCause | undefined,
): { state: TaskState; message: string; reason?: TaskStatusReason; limitation?: unknown } {
  const message = `Command ${describeWaitStatus(termination.exit_status)}`;
  if (termination.state !== undefined && killed === undefined) {
    return {
      state: termination.state,
      message: termination.message ?? message,
      ...(termination.reason === undefined ? {} : { reason: termination.reason }),
      ...(termination.limitation === undefined ? {} : { limitation: termination.limitation }),
    };
  }
  if (killed !== undefined) return { state: 'TASK_KILLED', message };
  if (termination.exit_status === 0) return { state: 'TASK_FINISHED', message };
  return { state: 'TASK_FAILED', message };
}

/** The grace period of a kill: the KILL event's policy, else the task's, else 3 s; capped by `capMs`. */
export function killGraceMs(task: TaskInfo, override: KillPolicy | undefined, capMs?: number): number {
  const ns = override?.grace_period?.nanoseconds ?? task.kill_policy?.grace_period?.nanoseconds;
  const graceMs = ns === undefined ? DEFAULT_KILL_GRACE_MS : Math.max(0, ns / 1e6);
  return capMs === undefined ? graceMs : Math.min(graceMs, capMs);
}
