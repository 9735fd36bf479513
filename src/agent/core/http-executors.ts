/**
 * Custom executors and the default executor on the agent (facts 2, 8.5): processes that speak
 * the v1 Executor API. Their lifecycle (launch, SUBSCRIBE, the tasks and groups queued until
 * then, KILL, SHUTDOWN with its grace period, the registration timeout, exit) and their status
 * updates, which go through the agent's status update manager. Pure: a part of AgentCore.
 */
import {
  type ContainerID,
  type ExecutorCall,
  type ExecutorInfo,
  type FrameworkInfo,
  hasCapability,
  isTerminalState,
  type KillPolicy,
  type TaskInfo,
  type TaskStatus,
  type Volume,
} from '../../api/index.js';
import { assert, type Clock, type IdSource, uuidToBase64 } from '../../base/index.js';
import type { AgentBooks } from './books.js';
import type { AgentEffect, ContainerExit, ContainerLaunch, ExecutorEventOut } from './effects.js';
import { executorShutdownGraceMs, planExecutor } from './executor-launch.js';
import { executorRunPath, metaRunPath } from './paths.js';
import type { AgentCounters, ExecutorTermination, FrameworkEntry, HttpExecutorEntry, TaskEntry } from './state.js';
import { countStatus, type StatusFields } from './status.js';
import type { StatusUpdateEffect, StatusUpdateManager } from './status-update-manager.js';

export interface HttpExecutorsConfig {
  workDir: string;
  ip: string;
  port: number;
  executorShutdownGracePeriodMs: number;
  /** --executor_registration_timeout (Mesos: 1mins). */
  executorRegistrationTimeoutMs: number;
  defaultExecutorCommand?: ContainerLaunch['command'];
  defaultExecutorVolumes?: Volume[];
}

/** What AgentCore shares with this part of it. */
export interface CoreServices {
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly config: HttpExecutorsConfig;
  readonly books: AgentBooks;
  readonly updates: StatusUpdateManager;
  readonly counters: AgentCounters;
  agentId(): string | undefined;
  emit(effect: AgentEffect): void;
  emitUpdates(effects: StatusUpdateEffect[]): void;
  log(level: 'info' | 'warn', message: string): void;
}

/** Mesos's default for --executor_registration_timeout. */
export const DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS = 60_000;

// Signal numbers for wait statuses (Linux), which FAILURE carries as Mesos's ExitedExecutorMessage does.
const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGXCPU: 24, SIGXFSZ: 25,
};

/** waitpid(2)'s status for an exit: code << 8, or the number of the signal that ended it. */
export function waitStatus(exit: ContainerExit): number | undefined {
  if (exit.code !== undefined) return (exit.code & 0xff) << 8;
  if (exit.signal !== undefined) return SIGNAL_NUMBERS[exit.signal];
  return undefined;
}

export class HttpExecutors {
  constructor(private readonly core: CoreServices) {}

  // ----- tasks from the master ---------------------------------------------------------------

  /** RUN_TASK with TaskInfo.executor (one task), or RUN_TASK_GROUP (a group): for the executor, starting it if new. */
  runTasks(frameworkId: string, frameworkInfo: FrameworkInfo, executorInfo: ExecutorInfo, tasks: TaskInfo[], group: boolean): void {
    const executorId = executorInfo.executor_id.value;
    const known = this.core.books.frameworks.get(frameworkId);
    if (known?.terminating) return this.core.log('warn', `Ignoring tasks for executor ${executorId}: framework ${frameworkId} is shutting down`);
    const duplicate = tasks.find((t) => this.core.books.task(frameworkId, t.task_id.value) !== undefined);
    if (duplicate !== undefined) {
      return this.core.log('warn', `Ignoring tasks for executor ${executorId}: task ${duplicate.task_id.value} of framework ${frameworkId} already runs here`);
    }
    const framework = this.core.books.frameworkFor(frameworkId, frameworkInfo);
    let executor = framework.httpExecutors.get(executorId);
    if (executor !== undefined && (executor.state === 'terminating' || executor.state === 'terminated')) {
      // Mesos's agent drops tasks for an executor on its way out: they never reach it.
      const state = hasCapability(framework.info, 'PARTITION_AWARE') ? 'TASK_DROPPED' : 'TASK_LOST';
      for (const info of tasks) {
        const task: TaskEntry = { frameworkId, info, state: 'TASK_STAGING', statuses: [] };
        executor.tasks.set(info.task_id.value, task);
        this.agentStatus(executor, task, { state, source: 'SOURCE_AGENT', reason: 'REASON_EXECUTOR_TERMINATED', message: `Executor ${executorId} is ${executor.state}` });
      }
      return;
    }
    executor ??= this.launch(framework, executorInfo, tasks);
    for (const info of tasks) executor.tasks.set(info.task_id.value, { frameworkId, info, state: 'TASK_STAGING', statuses: [] });
    if (group) executor.groups.push(tasks.map((t) => t.task_id.value));
    if (executor.phase === 'exited') {
      // It could not even be started: its tasks fail with it.
      this.terminated(executor, executor.termination!, undefined);
      return;
    }
    const launch = group ? { kind: 'group' as const, taskIds: tasks.map((t) => t.task_id.value) } : { kind: 'task' as const, taskId: tasks[0]!.task_id.value };
    if (executor.state === 'running' && executor.connected) this.deliver(executor, launch);
    else executor.queued.push(launch);
  }

  private launch(framework: FrameworkEntry, info: ExecutorInfo, tasks: TaskInfo[]): HttpExecutorEntry {
    const { config } = this.core;
    const agentId = this.core.agentId() ?? tasks[0]?.agent_id.value ?? '';
    const containerId = this.core.ids.uuid();
    const executorId = info.executor_id.value;
    const directory = executorRunPath(config.workDir, agentId, framework.id, executorId, containerId);
    const executor: HttpExecutorEntry = {
      id: executorId,
      frameworkId: framework.id,
      containerId,
      directory,
      info,
      launchedAtMs: this.core.clock.monotonicMs(),
      state: 'registering',
      phase: 'none',
      connected: false,
      queued: [],
      tasks: new Map(),
      groups: [],
      completedTasks: [],
    };
    this.core.books.addHttpExecutor(framework, executor);
    const plan = planExecutor(info, tasks, {
      agentId,
      frameworkId: framework.id,
      frameworkInfo: framework.info,
      containerId,
      directory,
      metaDirectory: metaRunPath(config.workDir, agentId, framework.id, executorId, containerId),
      endpoint: `${config.ip}:${config.port}`,
      executorShutdownGracePeriodMs: config.executorShutdownGracePeriodMs,
      ...(config.defaultExecutorCommand === undefined ? {} : { defaultExecutorCommand: config.defaultExecutorCommand }),
      ...(config.defaultExecutorVolumes === undefined ? {} : { defaultExecutorVolumes: config.defaultExecutorVolumes }),
    });
    if ('error' in plan) {
      this.core.counters.containerLaunchErrors++;
      executor.phase = 'exited';
      executor.termination = { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: plan.error };
      return executor;
    }
    executor.phase = 'launching';
    this.core.emit({ kind: 'launchContainer', launch: plan });
    this.startTimer(executor, 'executorRegistration', this.core.config.executorRegistrationTimeoutMs);
    return executor;
  }

  /** KILL_TASK for a task of this executor. */
  killTask(executor: HttpExecutorEntry, task: TaskEntry, policy: KillPolicy | undefined): void {
    if (isTerminalState(task.state)) return;
    if (executor.state === 'terminating' || executor.state === 'terminated') {
      return this.core.log('warn', `Ignoring kill of task ${task.info.task_id.value}: executor ${executor.id} is ${executor.state}`);
    }
    const taskId = task.info.task_id.value;
    const queued = executor.queued.findIndex((q) => (q.kind === 'task' ? q.taskId === taskId : q.taskIds.includes(taskId)));
    if (queued >= 0) {
      // Not given to the executor yet: the agent ends it (and its whole group) itself.
      const [launch] = executor.queued.splice(queued, 1);
      for (const id of launch!.kind === 'task' ? [launch!.taskId] : launch!.taskIds) {
        this.agentStatus(executor, executor.tasks.get(id)!, {
          state: 'TASK_KILLED',
          source: 'SOURCE_AGENT',
          reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
          message: 'Killed before it was delivered to the executor',
        });
      }
      // An executor left with nothing to run is not kept waiting for tasks (as Mesos does).
      if ([...executor.tasks.values()].every((t) => isTerminalState(t.state))) this.shutdown(executor);
      return;
    }
    if (!executor.connected) return this.core.log('warn', `Cannot kill task ${taskId}: executor ${executor.id} is not connected; retry the kill`);
    this.send(executor, { type: 'KILL', kill: { task_id: { value: taskId }, ...(policy === undefined ? {} : { kill_policy: policy }) } });
  }

  /** The master acknowledged an update of a task of this executor. */
  acknowledged(executor: HttpExecutorEntry, task: TaskEntry): void {
    if (!isTerminalState(task.state) || this.core.updates.pendingCount(executor.frameworkId, task.info.task_id.value) > 0) return;
    this.completeTask(executor, task);
    this.completeIfDone(executor);
  }

  /** SHUTDOWN_EXECUTOR, a framework shut down, the agent stopping: SHUTDOWN now, destroy after the grace period. */
  shutdown(executor: HttpExecutorEntry): void {
    if (executor.state === 'terminating' || executor.state === 'terminated') return;
    executor.state = 'terminating';
    this.cancelTimer(executor, 'executorRegistration');
    if (executor.connected) this.send(executor, { type: 'SHUTDOWN' });
    this.startTimer(executor, 'executorShutdown', executorShutdownGraceMs(executor.info, this.core.config.executorShutdownGracePeriodMs));
  }

  /** A framework was shut down: its updates are gone, and so are its tasks once its executors are. */
  shutdownFramework(framework: FrameworkEntry): void {
    for (const executor of [...framework.httpExecutors.values()]) {
      this.shutdown(executor);
      this.completeIfDone(executor);
    }
  }

  frameworkMessage(executor: HttpExecutorEntry, data: string): void {
    if (executor.state !== 'running' || !executor.connected) {
      return this.core.log('warn', `Dropping a framework message for executor ${executor.id}: it is not subscribed`);
    }
    this.send(executor, { type: 'MESSAGE', message: { data } });
  }

  // ----- the executor's calls ----------------------------------------------------------------

  /** A call executorCallError() accepted, from an executor the books know. */
  call(executor: HttpExecutorEntry, call: ExecutorCall): void {
    switch (call.type) {
      case 'SUBSCRIBE':
        return this.subscribe(executor, call);
      case 'UPDATE':
        return this.update(executor, call.update!.status);
      case 'MESSAGE':
        this.core.emit({ kind: 'executorMessage', frameworkId: executor.frameworkId, executorId: executor.id, data: call.message!.data });
        return;
      default:
        return; // HEARTBEAT: nothing to do.
    }
  }

  disconnected(executor: HttpExecutorEntry): void {
    if (!executor.connected) return;
    executor.connected = false;
    const framework = this.core.books.frameworks.get(executor.frameworkId);
    // Facts 2.2: without checkpointing an executor does not come back, so it is not waited for.
    if (framework?.info.checkpoint !== true && executor.state === 'running') {
      this.core.log('warn', `Executor ${executor.id} of framework ${executor.frameworkId} disconnected; its framework does not checkpoint, so it is shut down`);
      this.shutdown(executor);
    }
  }

  private subscribe(executor: HttpExecutorEntry, call: ExecutorCall): void {
    executor.connected = true;
    if (executor.state === 'terminating') {
      this.send(executor, { type: 'SHUTDOWN' });
      return;
    }
    const resubscribing = executor.state === 'running';
    if (executor.state === 'registering') {
      executor.state = 'running';
      this.cancelTimer(executor, 'executorRegistration');
    }
    const framework = this.core.books.frameworks.get(executor.frameworkId)!;
    this.send(executor, {
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: executor.info,
        framework_info: { ...framework.info, id: { value: framework.id } },
        container_id: { value: executor.containerId },
      },
    });
    // Updates it sent but never saw acknowledged (the agent may have them already).
    for (const update of call.subscribe?.unacknowledged_updates ?? []) this.update(executor, update.status);
    for (const launch of executor.queued.splice(0)) this.deliver(executor, launch);
    if (resubscribing) this.redeliverLost(executor, call.subscribe?.unacknowledged_tasks ?? []);
  }

  /**
   * Tasks given to the executor that it neither lists as received (`unacknowledged_tasks`) nor
   * sent an update for went out while its stream was breaking: they are given again, whole groups
   * as groups. (Mesos's agent fails such tasks after its own restart; agora's executors outlive
   * only their connection, so the task can still run. docs/decisions/0008.)
   */
  private redeliverLost(executor: HttpExecutorEntry, received: readonly TaskInfo[]): void {
    const listed = new Set(received.map((t) => t.task_id.value));
    const lost = (id: string) => {
      const task = executor.tasks.get(id);
      return task !== undefined && task.state === 'TASK_STAGING' && task.statuses.length === 0 && !listed.has(id);
    };
    const inGroups = new Set<string>();
    for (const group of executor.groups) {
      for (const id of group) inGroups.add(id);
      if (group.some(lost)) this.deliver(executor, { kind: 'group', taskIds: group.filter(lost) });
    }
    for (const id of executor.tasks.keys()) if (!inGroups.has(id) && lost(id)) this.deliver(executor, { kind: 'task', taskId: id });
  }

  private update(executor: HttpExecutorEntry, given: TaskStatus): void {
    const taskId = given.task_id.value;
    const uuid = given.uuid!;
    const task = executor.tasks.get(taskId) ?? executor.completedTasks.find((t) => t.info.task_id.value === taskId);
    const ack = () => this.send(executor, { type: 'ACKNOWLEDGED', acknowledged: { task_id: given.task_id, uuid } });
    if (task === undefined) {
      this.core.log('warn', `Dropping an update for task ${taskId}, which executor ${executor.id} does not run`);
      return ack();
    }
    if (task.statuses.some((s) => s.uuid === uuid)) return ack(); // Sent again after a reconnection.
    if (isTerminalState(task.state)) {
      this.core.log('warn', `Dropping ${given.state} for task ${taskId}: it already ended ${task.state}`);
      return ack();
    }
    const status: TaskStatus = {
      ...given,
      source: 'SOURCE_EXECUTOR',
      executor_id: { value: executor.id },
      ...(this.core.agentId() === undefined ? {} : { agent_id: { value: this.core.agentId()! } }),
      timestamp: given.timestamp ?? this.core.clock.realtimeMs() / 1000,
      container_status: this.containerStatus(executor, given.container_status?.container_id),
    };
    this.record(executor, task, status);
    ack();
  }

  // ----- containers and timers ---------------------------------------------------------------

  containerLaunched(executor: HttpExecutorEntry, pid: number, networkInfos: Record<string, unknown>[] | undefined): void {
    if (executor.phase !== 'launching') return;
    executor.phase = 'running';
    executor.pid = pid;
    if (networkInfos !== undefined) executor.networkInfos = networkInfos;
    if (executor.destroyOnLaunch === true) this.destroy(executor);
  }

  containerLaunchFailed(executor: HttpExecutorEntry, message: string): void {
    if (executor.phase !== 'launching') return;
    executor.phase = 'exited';
    this.core.counters.containerLaunchErrors++;
    this.terminated(executor, { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message }, undefined);
  }

  containerExited(executor: HttpExecutorEntry, exit: ContainerExit): void {
    if (executor.phase === 'exited') return;
    executor.phase = 'exited';
    const termination = executor.termination ?? {
      state: 'TASK_FAILED',
      reason: exit.limitation?.reason ?? 'REASON_EXECUTOR_TERMINATED',
      message: exit.limitation?.message ?? `Executor ${exit.description}`,
    };
    this.terminated(executor, termination, waitStatus(exit));
  }

  timerFired(executor: HttpExecutorEntry, kind: 'executorRegistration' | 'executorShutdown'): void {
    if (kind === 'executorRegistration') {
      if (executor.state !== 'registering') return;
      const timeout = formatSecs(this.core.config.executorRegistrationTimeoutMs);
      this.core.log('warn', `Executor ${executor.id} of framework ${executor.frameworkId} did not subscribe within ${timeout}; destroying it`);
      executor.termination = {
        state: 'TASK_FAILED',
        reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
        message: `Executor did not register within ${timeout}`,
      };
      executor.state = 'terminating';
      this.destroy(executor);
      return;
    }
    if (executor.state === 'terminating') {
      this.core.log('warn', `Executor ${executor.id} of framework ${executor.frameworkId} is still alive after its shutdown grace period; destroying it`);
      this.destroy(executor);
    }
  }

  /** Tasks to report to the master, with the update in flight for each. */
  taskReports(framework: FrameworkEntry): Array<{ task: TaskEntry; head: TaskStatus | undefined }> {
    return [...framework.httpExecutors.values()].flatMap((e) =>
      [...e.tasks.values()].map((task) => ({ task, head: this.core.updates.head(framework.id, task.info.task_id.value) })),
    );
  }

  // ----- internals ---------------------------------------------------------------------------

  private deliver(executor: HttpExecutorEntry, launch: HttpExecutorEntry['queued'][number]): void {
    if (launch.kind === 'task') {
      const task = executor.tasks.get(launch.taskId);
      if (task !== undefined && !isTerminalState(task.state)) this.send(executor, { type: 'LAUNCH', launch: { task: task.info } });
      return;
    }
    const tasks = launch.taskIds.map((id) => executor.tasks.get(id)).filter((t) => t !== undefined && !isTerminalState(t.state));
    if (tasks.length > 0) this.send(executor, { type: 'LAUNCH_GROUP', launch_group: { task_group: { tasks: tasks.map((t) => t!.info) } } });
  }

  /** SIGKILL to the container now, or as soon as it exists. */
  private destroy(executor: HttpExecutorEntry): void {
    if (executor.phase === 'launching') executor.destroyOnLaunch = true;
    else if (executor.phase === 'running') {
      this.core.emit({ kind: 'signalContainer', containerId: executor.containerId, signal: 'SIGKILL' });
    }
  }

  /** The executor is gone: its stream closes, its unfinished tasks end, the master hears of it. */
  private terminated(executor: HttpExecutorEntry, termination: ExecutorTermination, status: number | undefined): void {
    executor.state = 'terminated';
    executor.termination ??= termination;
    this.cancelTimer(executor, 'executorRegistration');
    this.cancelTimer(executor, 'executorShutdown');
    if (executor.connected) this.core.emit({ kind: 'closeExecutorStream', frameworkId: executor.frameworkId, executorId: executor.id });
    executor.connected = false;
    executor.queued.length = 0;
    this.endUnfinishedTasks(executor);
    this.core.emit({ kind: 'executorExited', frameworkId: executor.frameworkId, executorId: executor.id, ...(status === undefined ? {} : { status }) });
    this.completeIfDone(executor);
  }

  /** Mesos's executorTerminated: every task not ended yet ends as the termination says, from the agent. */
  private endUnfinishedTasks(executor: HttpExecutorEntry): void {
    if (this.core.books.frameworks.get(executor.frameworkId)?.terminating) return;
    const termination = executor.termination ?? { state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Abnormal executor termination' };
    for (const task of executor.tasks.values()) {
      if (isTerminalState(task.state)) continue;
      this.agentStatus(executor, task, { ...termination, source: 'SOURCE_AGENT' });
    }
  }

  /** An update the agent itself writes for a task of this executor. */
  private agentStatus(executor: HttpExecutorEntry, task: TaskEntry, fields: StatusFields): void {
    const agentId = this.core.agentId();
    const status: TaskStatus = {
      task_id: task.info.task_id,
      state: fields.state,
      source: fields.source,
      ...(fields.reason === undefined ? {} : { reason: fields.reason }),
      ...(fields.message === undefined ? {} : { message: fields.message }),
      ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
      executor_id: { value: executor.id },
      container_status: this.containerStatus(executor, undefined),
      timestamp: this.core.clock.realtimeMs() / 1000,
      uuid: uuidToBase64(this.core.ids.uuid()),
    };
    this.record(executor, task, status);
  }

  private record(executor: HttpExecutorEntry, task: TaskEntry, status: TaskStatus): void {
    assert(!isTerminalState(task.state), `task ${task.info.task_id.value}: ${status.state} after ${task.state}`);
    task.state = status.state;
    task.statuses.push(status);
    countStatus(this.core.counters, status.state);
    const framework = this.core.books.frameworks.get(executor.frameworkId);
    if (framework?.terminating) return;
    this.core.emitUpdates(this.core.updates.update(executor.frameworkId, status));
  }

  /** Mesos's agent fills ContainerStatus: the (nested) container the update names, else the executor's. */
  private containerStatus(executor: HttpExecutorEntry, containerId: ContainerID | undefined): NonNullable<TaskStatus['container_status']> {
    return {
      container_id: containerId ?? { value: executor.containerId },
      network_infos: executor.networkInfos ?? [{ ip_addresses: [{ protocol: 'IPv4', ip_address: this.core.config.ip }] }],
      ...(executor.pid === undefined ? {} : { executor_pid: executor.pid }),
    };
  }

  private completeTask(executor: HttpExecutorEntry, task: TaskEntry): void {
    executor.tasks.delete(task.info.task_id.value);
    executor.completedTasks.push(task);
  }

  /**
   * Retires an executor whose container is gone once every task's terminal update is
   * acknowledged (or its framework is shutting down, when none will be).
   */
  completeIfDone(executor: HttpExecutorEntry): void {
    if (executor.phase === 'launching' || executor.phase === 'running') return;
    const framework = this.core.books.frameworks.get(executor.frameworkId);
    if (framework === undefined || framework.httpExecutors.get(executor.id) !== executor) return;
    for (const task of [...executor.tasks.values()]) {
      const settled = isTerminalState(task.state) && this.core.updates.pendingCount(executor.frameworkId, task.info.task_id.value) === 0;
      if (settled || framework.terminating) this.completeTask(executor, task);
    }
    if (executor.tasks.size > 0) return;
    this.core.books.retireHttpExecutor(executor);
  }

  private send(executor: HttpExecutorEntry, event: ExecutorEventOut): void {
    this.core.emit({ kind: 'executorEvent', frameworkId: executor.frameworkId, executorId: executor.id, event });
  }

  private startTimer(executor: HttpExecutorEntry, kind: 'executorRegistration' | 'executorShutdown', delayMs: number): void {
    this.core.emit({ kind: 'startTimer', timer: { kind, containerId: executor.containerId }, atMs: this.core.clock.monotonicMs() + delayMs });
  }

  private cancelTimer(executor: HttpExecutorEntry, kind: 'executorRegistration' | 'executorShutdown'): void {
    this.core.emit({ kind: 'cancelTimer', timer: { kind, containerId: executor.containerId } });
  }
}

/** Base64 of exactly 16 bytes: a UUID, as TaskStatus.uuid must be. */
const UUID_BASE64 = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/**
 * Mesos's checks of an executor call before the agent takes it (facts 2): the 400, 403 or 501 to
 * answer with, or undefined. Reads the books; changes nothing.
 */
export function executorCallError(books: AgentBooks, call: ExecutorCall): { status: 400 | 403 | 501; message: string } | undefined {
  const known = ['SUBSCRIBE', 'UPDATE', 'MESSAGE', 'HEARTBEAT'];
  if (call.type === 'UNKNOWN') return { status: 501, message: "Received 'UNKNOWN' call" };
  if (!known.includes(call.type)) return { status: 400, message: `'type' has unknown value "${call.type}"; expected one of ${known.join(', ')}` };
  if (call.type === 'UPDATE') {
    const status = call.update?.status;
    if (status === undefined) return { status: 400, message: "Expecting 'update' to be present" };
    if (status.uuid === undefined) return { status: 400, message: "Expecting 'uuid' to be present" };
    if (!UUID_BASE64.test(status.uuid)) return { status: 400, message: "'update.status.uuid' is not a valid UUID (base64 of 16 bytes)" };
    if (status.state === 'TASK_STAGING') return { status: 400, message: "Received an update with status 'TASK_STAGING', which executors must not send" };
    if (status.executor_id !== undefined && status.executor_id.value !== call.executor_id.value) {
      return { status: 400, message: "ExecutorID in Call and in the update's status differ" };
    }
  }
  if (call.type === 'MESSAGE' && call.message === undefined) return { status: 400, message: "Expecting 'message' to be present" };
  const framework = books.frameworks.get(call.framework_id.value);
  if (framework === undefined) return { status: 400, message: 'Framework cannot be found' };
  const executor = framework.httpExecutors.get(call.executor_id.value);
  if (executor === undefined || executor.state === 'terminated') return { status: 400, message: 'Executor cannot be found' };
  if (call.type !== 'SUBSCRIBE' && !executor.connected) return { status: 403, message: 'Executor is not subscribed' };
  return undefined;
}

function formatSecs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}mins`;
  return ms % 1000 === 0 ? `${ms / 1000}secs` : `${ms}ms`;
}
