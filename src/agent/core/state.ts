/**
 * The agent's books: frameworks, their executors (one per command task) and tasks, live and
 * completed. Plain data owned by the agent core; the HTTP shell reads it, never writes it.
 */
import type { FrameworkInfo, TaskInfo, TaskState, TaskStatus } from '../../api/index.js';
import type { TaskCheckers } from './checks.js';
import type { KillCause } from './command-executor.js';
import type { ContainerLimitation } from './effects.js';

/** Bounds on history, as Mesos's agent keeps them (max_completed_executors_per_framework, MAX_COMPLETED_FRAMEWORKS). */
export const MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK = 150;
export const MAX_COMPLETED_FRAMEWORKS = 50;

/**
 *   launching --(spawned)--> running --(main process exited)--> exited
 *       \--------------(launch failed)---------------------------^
 * `none`: the task was refused before any container was asked for.
 */
export type ContainerPhase = 'launching' | 'running' | 'exited' | 'none';

export interface TaskEntry {
  readonly frameworkId: string;
  readonly info: TaskInfo;
  /** The latest state the agent knows, which may be ahead of what the master has acknowledged. */
  state: TaskState;
  /** Every update the agent generated for the task, oldest first. */
  readonly statuses: TaskStatus[];
}

export interface KillRequest {
  cause: KillCause;
  graceMs: number;
  /** When SIGKILL follows SIGTERM; unset until SIGTERM has been sent. */
  escalateAtMs?: number;
}

/** A command executor: Mesos's executor id is the task id, and it runs exactly that task. */
export interface ExecutorEntry {
  readonly id: string;
  readonly frameworkId: string;
  readonly containerId: string;
  readonly directory: string;
  readonly task: TaskEntry;
  readonly launchedAtMs: number;
  phase: ContainerPhase;
  pid?: number;
  kill?: KillRequest;
  /** The container's own addresses (CNI); undefined when it shares the host's network. */
  networkInfos?: Record<string, unknown>[];
  /** The limit that made the agent kill the container; it decides the task's terminal update. */
  limitation?: ContainerLimitation;
  /** The task's health check and check, run by the agent (checks.ts). */
  checkers?: TaskCheckers;
}

export interface FrameworkEntry {
  readonly id: string;
  info: FrameworkInfo;
  /** Invariant: holds only executors not yet completed (see AgentCore.completeExecutorIfDone). */
  readonly executors: Map<string, ExecutorEntry>;
  readonly completedExecutors: ExecutorEntry[];
  /** SHUTDOWN_FRAMEWORK arrived: its containers are being killed and its updates are dropped. */
  terminating: boolean;
}

/** Counters for /metrics/snapshot, named after Mesos's `slave/*` metrics. */
export interface AgentCounters {
  tasksFinished: number;
  tasksFailed: number;
  tasksKilled: number;
  tasksLost: number;
  tasksGone: number;
  validStatusUpdates: number;
  containerLaunchErrors: number;
}

export function newCounters(): AgentCounters {
  return {
    tasksFinished: 0,
    tasksFailed: 0,
    tasksKilled: 0,
    tasksLost: 0,
    tasksGone: 0,
    validStatusUpdates: 0,
    containerLaunchErrors: 0,
  };
}

/** Pushes onto a history list, dropping the oldest beyond `max`. */
export function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}
