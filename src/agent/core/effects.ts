/**
 * What goes into the agent core (inputs) and what comes out (effects). The shell turns master
 * events, container exits and timers into inputs, and carries out the effects in order.
 */
import type { ExecutorCall, ExecutorEvent, ExecutorInfo, FrameworkInfo, KillPolicy, TaskInfo, TaskState, TaskStatus } from '../../api/index.js';
import type { Probe, ProbeResult } from '../../executor/checks/core.js';
import type { CheckerKind } from './checks.js';
import type { TaskCheckpoint } from './checkpoints.js';
import type { RecoveryInput } from './recovery.js';
import type { StatusRetryTimer } from './status-update-manager.js';

export type AgentTimer =
  | StatusRetryTimer
  /** The kill grace period of a container is over: SIGKILL it. */
  | { kind: 'killEscalation'; containerId: string }
  /** The task's max_completion_time is reached: kill it and fail it. */
  | { kind: 'maxCompletion'; containerId: string }
  /** A command task's health check or check is due: its next probe, or its probe's timeout. */
  | { kind: CheckerKind; containerId: string }
  /** A custom or default executor did not subscribe within --executor_registration_timeout. */
  | { kind: 'executorRegistration'; containerId: string }
  /** An executor told to shut down is still alive after its grace period: destroy it. */
  | { kind: 'executorShutdown'; containerId: string };

/** A stable key for a timer, so the shell can keep one real timer per key. */
export function timerKey(timer: AgentTimer): string {
  return timer.kind === 'statusUpdateRetry'
    ? `${timer.kind}\u0000${timer.frameworkId}\u0000${timer.taskId}`
    : `${timer.kind}\u0000${timer.containerId}`;
}

/** How a container's main process ended, with the words the status message uses. */
export interface ContainerExit {
  code?: number;
  signal?: string;
  /** "exited with status 1", "terminated with signal Killed". */
  description: string;
  /** Set when the container died of a limit (the OOM killer), as its launcher saw it. */
  limitation?: ContainerLimitation;
}

/** A resource a container used beyond its limit; the task then fails with `reason` (facts 5.2). */
export interface ContainerLimitation {
  reason: 'REASON_CONTAINER_LIMITATION_MEMORY' | 'REASON_CONTAINER_LIMITATION_DISK';
  /** "Memory limit exceeded: ...", "Disk usage (40MB) exceeds quota (32MB)". */
  message: string;
  /** The resource over its limit, for TaskStatus.limitation. */
  resource: { name: 'mem' | 'disk'; valueMb: number };
}

/** The limits a container gets from its task's resources; an absent member is not limited. */
export interface ContainerResources {
  cpus?: number;
  memMb?: number;
  diskMb?: number;
}

export type AgentInput =
  | { kind: 'subscribed'; agentId: string; masterHostname?: string }
  | { kind: 'disconnected' }
  | { kind: 'runTask'; frameworkId: string; frameworkInfo: FrameworkInfo; task: TaskInfo }
  | { kind: 'killTask'; frameworkId: string; taskId: string; killPolicy?: KillPolicy }
  | { kind: 'acknowledge'; frameworkId: string; taskId: string; uuid: string }
  | { kind: 'shutdownFramework'; frameworkId: string }
  /** Kill every container: the agent is stopping or the master told it to shut down. */
  | { kind: 'shutdown' }
  /** `networkInfos`: the container's own addresses (CNI); absent when it shares the host's network. */
  | { kind: 'containerLaunched'; containerId: string; pid: number; networkInfos?: Record<string, unknown>[] }
  /** A running container used more than its limit (disk): it must die, and its task fails. */
  | { kind: 'containerLimitation'; containerId: string; limitation: ContainerLimitation }
  | { kind: 'containerLaunchFailed'; containerId: string; message: string }
  | { kind: 'containerExited'; containerId: string; exit: ContainerExit }
  | { kind: 'timerFired'; timer: AgentTimer }
  /** A probe that a `runCheck` effect started has answered. */
  | { kind: 'checkResult'; containerId: string; checker: CheckerKind; attempt: number; result: ProbeResult }
  /** The tasks of a group, for their executor (the default executor, or a custom one). */
  | { kind: 'runTaskGroup'; frameworkId: string; frameworkInfo: FrameworkInfo; executor: ExecutorInfo; tasks: TaskInfo[] }
  /** The scheduler's SHUTDOWN: the executor is asked to stop, and destroyed after its grace period. */
  | { kind: 'shutdownExecutor'; frameworkId: string; executorId: string }
  /** The scheduler's MESSAGE for an executor. */
  | { kind: 'frameworkMessage'; frameworkId: string; executorId: string; data: string }
  /**
   * A v1 Executor API call that executorCallError() accepted. For SUBSCRIBE the shell has already
   * opened the new event stream (closing an older one).
   */
  | { kind: 'executorCall'; call: ExecutorCall }
  /** An executor's event stream closed. */
  | { kind: 'executorDisconnected'; frameworkId: string; executorId: string }
  /** Agent recovery: what the checkpoint holds and what became of each container (recovery.ts). */
  | ({ kind: 'recover' } & RecoveryInput);

/** What the containerizer is asked to start: everything already resolved by the core. */
export interface ContainerLaunch {
  containerId: string;
  frameworkId: string;
  executorId: string;
  directory: string;
  /** Where the shell checkpoints the container's pid (`<work_dir>/meta/slaves/.../runs/<cid>`). */
  metaDirectory: string;
  command: { shell: true; value: string } | { shell: false; value: string; argv: string[] };
  env: Record<string, string>;
  user?: string;
  resources: ContainerResources;
  /** TaskInfo.container as sent (opaque ContainerInfo), for the containerizer's isolators. */
  container?: unknown;
  /** CommandInfo.environment alone, with `container`: an image's Env goes under it (docker/runtime). */
  commandEnv?: Record<string, string>;
}

/** An executor event as the core produces it: SUBSCRIBED without agent_info. */
export type ExecutorEventOut =
  | Exclude<ExecutorEvent, { type: 'SUBSCRIBED' }>
  | { type: 'SUBSCRIBED'; subscribed: Omit<Extract<ExecutorEvent, { type: 'SUBSCRIBED' }>['subscribed'], 'agent_info'> };

export type AgentEffect =
  | { kind: 'launchContainer'; launch: ContainerLaunch }
  | { kind: 'signalContainer'; containerId: string; signal: 'SIGTERM' | 'SIGKILL' }
  /** Send a STATUS_UPDATE call to the master. */
  | { kind: 'forwardStatus'; frameworkId: string; status: TaskStatus; latestState: TaskState }
  | { kind: 'startTimer'; timer: AgentTimer; atMs: number }
  | { kind: 'cancelTimer'; timer: AgentTimer }
  /** Probe a command task (in its namespaces, as its user); answer with a `checkResult` input. */
  | { kind: 'runCheck'; containerId: string; checker: CheckerKind; attempt: number; probe: Probe }
  /** Stop that probe (it timed out, or the task is being killed); its result is not wanted. */
  | { kind: 'abortCheck'; containerId: string; checker: CheckerKind; attempt: number }
  /**
   * Write an event on an executor's stream, if one is open. SUBSCRIBED comes without `agent_info`,
   * which the shell fills in.
   */
  | { kind: 'executorEvent'; frameworkId: string; executorId: string; event: ExecutorEventOut }
  /** End an executor's event stream (its container is gone). */
  | { kind: 'closeExecutorStream'; frameworkId: string; executorId: string }
  /** An executor's MESSAGE, for the master (EXECUTOR_MESSAGE). */
  | { kind: 'executorMessage'; frameworkId: string; executorId: string; data: string }
  /** A custom or default executor's container ended (EXECUTOR_EXITED); `status` is its wait status. */
  | { kind: 'executorExited'; frameworkId: string; executorId: string; status?: number }
  /** Checkpoint a task's update or acknowledgement, before the update is forwarded (checkpoints.ts). */
  | { kind: 'checkpointTask'; checkpoint: TaskCheckpoint }
  /** Something an operator may want to know about, such as an ignored event. */
  | { kind: 'log'; level: 'info' | 'warn'; message: string };
