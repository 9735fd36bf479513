/**
 * Agent recovery in the core (facts 7.2): the frameworks, executors, tasks and status update
 * streams of a previous agent, rebuilt from its checkpoint and what became of each container,
 * and the updates recovery owes the master. Pure; the shell reads the checkpoint and the
 * containers (src/agent/recovery.ts) and gives the result as a `recover` input.
 */
import { type ExecutorInfo, type FrameworkInfo, hasCapability, isTerminalState, type TaskInfo, type TaskStatus } from '../../api/index.js';
import type { AgentBooks } from './books.js';
import { taskCheckers } from './checks.js';
import { namesNetwork } from './command-executor.js';
import type { AgentTimer, ContainerExit } from './effects.js';
import { gracePeriodMs } from './kill.js';
import { executorRunPath } from './paths.js';
import type { ExecutorEntry, FrameworkEntry, HttpExecutorEntry, TaskEntry } from './state.js';
import type { StatusFields } from './status.js';
import type { StatusUpdateManager } from './status-update-manager.js';

/** What became of a run's container while the agent was away. */
export type RecoveredContainerState =
  | { kind: 'running'; pid: number }
  | { kind: 'exited'; exit: ContainerExit }
  /** Neither running nor recorded: how it ended is unknown. */
  | { kind: 'gone' }
  /** A custom or default executor: agora does not reconnect them, so the shell destroyed it. */
  | { kind: 'destroyed' };

export interface RecoveredTask {
  info: TaskInfo;
  /** Every update of its checkpointed stream, oldest first. */
  statuses: TaskStatus[];
  /** Those not acknowledged yet: sent again once the agent is subscribed. */
  pending: TaskStatus[];
}

/** One run (container) of an executor, as checkpointed. */
export interface RecoveredRun {
  frameworkId: string;
  executorId: string;
  containerId: string;
  /** Custom and default executors (http.marker); absent: a command task's run. */
  executorInfo?: ExecutorInfo;
  tasks: RecoveredTask[];
  container: RecoveredContainerState;
}

export interface RecoveryInput {
  agentId: string;
  frameworks: Array<{ id: string; info: FrameworkInfo }>;
  runs: RecoveredRun[];
}

/** What recovery needs of the core: its books and update streams, and its own handlers. */
export interface RecoveryContext {
  books: AgentBooks;
  updates: StatusUpdateManager;
  workDir: string;
  /** Monotonic now, for timers. */
  nowMs: number;
  /** Wall-clock now, to compare with the checkpointed updates' timestamps. */
  realtimeMs: number;
  startTimer(timer: AgentTimer, atMs: number): void;
  sendStatus(executor: ExecutorEntry, fields: StatusFields): void;
  /** A running command task is watched again: health checks and checks restart. */
  watch(executor: ExecutorEntry): void;
  /** Kills a command task's container (a kill the previous agent had begun). */
  kill(executor: ExecutorEntry, graceMs: number): void;
  /** The core's own handler of a command task's container exit. */
  containerExited(containerId: string, exit: ContainerExit): void;
  /** The core's handler of a custom or default executor's container exit. */
  httpContainerExited(executor: HttpExecutorEntry, exit: ContainerExit): void;
  completeExecutorIfDone(executor: ExecutorEntry): void;
  log(level: 'info' | 'warn', message: string): void;
}

/**
 * Rebuilds the books from the runs and settles each task as Mesos's recovery does:
 * - running container: the task runs on (TASK_RUNNING is sent if the previous agent never did;
 *   a kill it had begun is carried out again);
 * - exited container: the task ends with the real exit status, as if the agent had seen it;
 * - container gone without a record: TASK_FAILED, REASON_EXECUTOR_TERMINATED;
 * - custom or default executor: destroyed; its unfinished tasks end TASK_GONE (TASK_LOST for
 *   frameworks that are not partition-aware), REASON_EXECUTOR_REREGISTRATION_TIMEOUT, as Mesos
 *   ends the tasks of an executor that does not re-register after an agent restart.
 * Unacknowledged updates are queued again, in order, ahead of anything recovery adds.
 */
export function recoverRuns(ctx: RecoveryContext, input: RecoveryInput): void {
  const infos = new Map(input.frameworks.map((f) => [f.id, f.info]));
  for (const run of input.runs) {
    const info = infos.get(run.frameworkId);
    if (info === undefined) {
      ctx.log('warn', `Not recovering executor ${run.executorId}: framework ${run.frameworkId} has no checkpointed framework.info`);
      continue;
    }
    const live = run.tasks.filter((t) => !isClosed(t));
    if (live.length === 0 && run.container.kind !== 'running') continue; // Done before the agent died.
    const framework = ctx.books.frameworkFor(run.frameworkId, info);
    for (const task of run.tasks) ctx.updates.restore(run.frameworkId, task.pending);
    if (run.executorInfo !== undefined) recoverHttpExecutor(ctx, input.agentId, framework, run, run.executorInfo);
    else recoverCommandTask(ctx, input.agentId, framework, run);
  }
}

function recoverCommandTask(ctx: RecoveryContext, agentId: string, framework: FrameworkEntry, run: RecoveredRun): void {
  const task = run.tasks.find((t) => t.info.task_id.value === run.executorId);
  if (task === undefined) return ctx.log('warn', `Not recovering executor ${run.executorId} of framework ${framework.id}: its task.info is missing`);
  if (framework.executors.has(run.executorId)) return ctx.log('warn', `Not recovering run ${run.containerId} of executor ${run.executorId}: a newer run is recovered`);
  const state = task.statuses.at(-1)?.state ?? 'TASK_STAGING';
  const executor: ExecutorEntry = {
    id: run.executorId,
    frameworkId: framework.id,
    containerId: run.containerId,
    directory: executorRunPath(ctx.workDir, agentId, framework.id, run.executorId, run.containerId),
    task: { frameworkId: framework.id, info: task.info, state, statuses: [...task.statuses] },
    launchedAtMs: ctx.nowMs,
    phase: 'running',
    ...(namesNetwork(task.info.container) ? { networkInfos: [] } : {}),
    checkers: taskCheckers(task.info),
  };
  ctx.books.addExecutor(framework, executor);
  const { container } = run;
  // The shell keeps no container of a task whose end was reported: it is destroyed as an orphan.
  if (container.kind === 'running' && !isTerminalState(state)) {
    executor.pid = container.pid;
    if (state === 'TASK_KILLING') return ctx.kill(executor, gracePeriodMs(task.info.kill_policy));
    if (state !== 'TASK_RUNNING') ctx.sendStatus(executor, { state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR' });
    ctx.watch(executor);
    // max_completion_time counts from the task's start, which its first update dates.
    const max = task.info.max_completion_time;
    if (max !== undefined) {
      const startedSecs = task.statuses[0]?.timestamp;
      const elapsedMs = startedSecs === undefined ? 0 : Math.max(0, ctx.realtimeMs - startedSecs * 1000);
      ctx.startTimer({ kind: 'maxCompletion', containerId: run.containerId }, ctx.nowMs + Math.max(0, max.nanoseconds / 1e6 - elapsedMs));
    }
    return;
  }
  if (container.kind === 'exited' && !isTerminalState(state)) {
    // The framework had asked for the kill: its task ends KILLED however it died.
    if (state === 'TASK_KILLING') executor.kill = { cause: 'killTask', graceMs: 0 };
    return ctx.containerExited(run.containerId, container.exit);
  }
  executor.phase = 'exited';
  if (!isTerminalState(state)) {
    ctx.sendStatus(executor, {
      state: 'TASK_FAILED',
      source: 'SOURCE_AGENT',
      reason: 'REASON_EXECUTOR_TERMINATED',
      message: 'Abnormal executor termination: its container was not found when the agent recovered (its exit status is unknown)',
    });
  }
  ctx.completeExecutorIfDone(executor);
}

function recoverHttpExecutor(ctx: RecoveryContext, agentId: string, framework: FrameworkEntry, run: RecoveredRun, info: ExecutorInfo): void {
  if (framework.httpExecutors.has(run.executorId)) return ctx.log('warn', `Not recovering run ${run.containerId} of executor ${run.executorId}: a newer run is recovered`);
  const tasks = new Map<string, TaskEntry>();
  for (const task of run.tasks) {
    const state = task.statuses.at(-1)?.state ?? 'TASK_STAGING';
    if (!isClosed(task)) tasks.set(task.info.task_id.value, { frameworkId: framework.id, info: task.info, state, statuses: [...task.statuses] });
  }
  const executor: HttpExecutorEntry = {
    id: run.executorId,
    frameworkId: framework.id,
    containerId: run.containerId,
    directory: executorRunPath(ctx.workDir, agentId, framework.id, run.executorId, run.containerId),
    info,
    launchedAtMs: ctx.nowMs,
    state: 'running',
    phase: 'running',
    connected: false,
    queued: [],
    tasks,
    groups: [],
    completedTasks: [],
    termination: {
      state: hasCapability(framework.info, 'PARTITION_AWARE') ? 'TASK_GONE' : 'TASK_LOST',
      reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
      message: 'Executor was destroyed when the agent recovered: agora does not reconnect custom and default executors after an agent restart',
    },
  };
  ctx.books.addHttpExecutor(framework, executor);
  ctx.httpContainerExited(executor, { description: 'destroyed by agent recovery', signal: 'SIGKILL' });
}

function isClosed(task: RecoveredTask): boolean {
  const state = task.statuses.at(-1)?.state;
  return state !== undefined && isTerminalState(state) && task.pending.length === 0;
}
