/**
 * The agent's books: frameworks, their executors (one per command task) and tasks, live and
 * completed. Plain data owned by the agent core; the HTTP shell reads it, never writes it.
 */
import type { ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus, TaskStatusReason } from '../../api/index.js';
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

/**
 * An executor that is a process of its own and speaks the v1 Executor API (Mesos's HTTP
 * executors): a custom executor, or the default executor of task groups. It runs any number of
 * tasks, given to it over time.
 *
 *   registering --(SUBSCRIBE)--> running
 *        |                          |  SHUTDOWN_EXECUTOR / framework shut down / registration timeout
 *        +-------------+------------+
 *                      v
 *                 terminating --(container gone)--> terminated
 * (registering and running also go straight to terminated when the container ends.)
 */
export type HttpExecutorState = 'registering' | 'running' | 'terminating' | 'terminated';

/** Why an executor was destroyed: decides how its unfinished tasks end (Mesos's ContainerTermination). */
export interface ExecutorTermination {
  state: TaskState;
  reason: TaskStatusReason;
  message: string;
}

/** Tasks given to an executor before it subscribed, delivered in order on SUBSCRIBED. */
export type QueuedLaunch = { kind: 'task'; taskId: string } | { kind: 'group'; taskIds: string[] };

export interface HttpExecutorEntry {
  readonly id: string;
  readonly frameworkId: string;
  readonly containerId: string;
  readonly directory: string;
  /** As the master sent it (framework_id set); the executor sees it in SUBSCRIBED. */
  readonly info: ExecutorInfo;
  readonly launchedAtMs: number;
  state: HttpExecutorState;
  phase: ContainerPhase;
  pid?: number;
  networkInfos?: Record<string, unknown>[];
  /** An event stream is open; events for an executor without one are dropped, as Mesos does. */
  connected: boolean;
  readonly queued: QueuedLaunch[];
  /** Its tasks not yet completed (queued, delivered, or terminal with updates in flight), by id. */
  readonly tasks: Map<string, TaskEntry>;
  /** Task ids of each task group it was given, so that a kill of a queued task kills its group. */
  readonly groups: string[][];
  readonly completedTasks: TaskEntry[];
  termination?: ExecutorTermination;
  /** Kill the container as soon as it exists (destroyed while launching). */
  destroyOnLaunch?: boolean;
}

export interface FrameworkEntry {
  readonly id: string;
  info: FrameworkInfo;
  /** Invariant: holds only executors not yet completed (see AgentCore.completeExecutorIfDone). */
  readonly executors: Map<string, ExecutorEntry>;
  readonly completedExecutors: ExecutorEntry[];
  /** Custom and default executors, live (http-executors.ts), and those that ended. */
  readonly httpExecutors: Map<string, HttpExecutorEntry>;
  readonly completedHttpExecutors: HttpExecutorEntry[];
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
