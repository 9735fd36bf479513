/**
 * The agent core: a deterministic state machine over frameworks, command executors and tasks.
 * Inputs in, effects out, synchronously; time and ids are injected, the shell does all I/O.
 */
import {
  type ExecutorCall,
  type ExecutorReport,
  type FrameworkInfo,
  hasCapability,
  isTerminalState,
  type KillPolicy,
  type TaskInfo,
  type TaskReport,
  type Volume,
} from '../../api/index.js';
import { assert, assertNever, type Clock, type IdSource, uuidToBase64 } from '../../base/index.js';
import { type KillCause, namesNetwork, planCommandTask, terminalStatusFor } from './command-executor.js';
import type { AgentEffect, AgentInput, ContainerExit, ContainerLaunch, ContainerLimitation } from './effects.js';
import { DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS, executorCallError, HttpExecutors } from './http-executors.js';
import { AgentBooks } from './books.js';
import { CommandTaskChecks, taskCheckers } from './checks.js';
import { gracePeriodMs, requestKill, startKill } from './kill.js';
import { executorRunPath, metaRunPath } from './paths.js';
import { type AgentCounters, type ExecutorEntry, type FrameworkEntry, newCounters } from './state.js';
import { countStatus, newTaskStatus, type StatusFields } from './status.js';
import { type StatusUpdateEffect, StatusUpdateManager } from './status-update-manager.js';
import { taskCheckpoint } from './checkpoints.js';
import { type RecoveryContext, recoverRuns } from './recovery.js';

export interface AgentCoreConfig {
  workDir: string;
  /** The address the agent advertises (never 0.0.0.0) and its HTTP port. */
  ip: string;
  port: number;
  executorShutdownGracePeriodMs: number;
  /** --executor_registration_timeout; default 1 minute. */
  executorRegistrationTimeoutMs?: number;
  /** How to start agora's default executor (task groups); without it task groups fail to launch. */
  defaultExecutorCommand?: ContainerLaunch['command'];
  /** Volumes the default executor's container gets besides its ExecutorInfo's: agora's own install (oci only). */
  defaultExecutorVolumes?: Volume[];
}

export interface AgentCoreDeps {
  clock: Clock;
  ids: IdSource;
  config: AgentCoreConfig;
}

export class AgentCore {
  /** Frameworks, executors and tasks; read by the HTTP views, written only here. */
  readonly books = new AgentBooks();
  readonly counters: AgentCounters = newCounters();
  private readonly updates: StatusUpdateManager;
  /** Health checks and checks of command tasks (checks.ts). */
  private readonly checks = new CommandTaskChecks({
    nowMs: () => this.deps.clock.monotonicMs(),
    effect: (effect) => this.effects.push(effect),
    sendStatus: (executor, fields) => this.sendStatus(executor, fields),
    killUnhealthy: (executor) => this.killUnhealthy(executor),
    log: (level, message) => this.log(level, message),
  });
  /** Custom and default executors (http-executors.ts). */
  private readonly http: HttpExecutors;
  private effects: AgentEffect[] = [];
  private agentIdValue: string | undefined;
  private masterHostnameValue: string | undefined;

  constructor(private readonly deps: AgentCoreDeps) {
    this.updates = new StatusUpdateManager(deps.clock, (frameworkId, taskId, record) => {
      const checkpoint = taskCheckpoint(this.books, this.agentIdValue, frameworkId, taskId, record);
      if (checkpoint !== undefined) this.effects.push({ kind: 'checkpointTask', checkpoint });
    });
    const { config } = deps;
    this.http = new HttpExecutors({
      clock: deps.clock,
      ids: deps.ids,
      config: {
        ...config,
        executorRegistrationTimeoutMs: config.executorRegistrationTimeoutMs ?? DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
      },
      books: this.books,
      updates: this.updates,
      counters: this.counters,
      agentId: () => this.agentIdValue,
      emit: (effect) => this.effects.push(effect),
      emitUpdates: (effects) => this.emitUpdates(effects),
      log: (level, message) => this.log(level, message),
    });
  }

  get frameworks(): ReadonlyMap<string, FrameworkEntry> {
    return this.books.frameworks;
  }

  get completedFrameworks(): readonly FrameworkEntry[] {
    return this.books.completedFrameworks;
  }

  get agentId(): string | undefined {
    return this.agentIdValue;
  }

  get masterHostname(): string | undefined {
    return this.masterHostnameValue;
  }

  /** Whether the master link is up (status updates flow). */
  get connected(): boolean {
    return !this.updates.isPaused;
  }

  /** Applies one input and returns what the shell must do, in order. */
  handle(input: AgentInput): AgentEffect[] {
    switch (input.kind) {
      case 'subscribed':
        this.agentIdValue = input.agentId;
        this.masterHostnameValue = input.masterHostname;
        this.emitUpdates(this.updates.resume());
        break;
      case 'disconnected':
        this.emitUpdates(this.updates.pause());
        break;
      case 'runTask':
        this.onRunTask(input.frameworkId, input.frameworkInfo, input.task);
        break;
      case 'killTask':
        this.onKillTask(input.frameworkId, input.taskId, input.killPolicy);
        break;
      case 'acknowledge':
        this.onAcknowledge(input.frameworkId, input.taskId, input.uuid);
        break;
      case 'shutdownFramework':
        this.onShutdownFramework(input.frameworkId);
        break;
      case 'shutdown':
        for (const framework of [...this.frameworks.values()]) {
          this.shutdownExecutors(framework);
          this.http.shutdownFramework(framework);
        }
        break;
      case 'runTaskGroup':
        this.http.runTasks(input.frameworkId, input.frameworkInfo, input.executor, input.tasks, true);
        break;
      case 'shutdownExecutor':
        this.onShutdownExecutor(input.frameworkId, input.executorId);
        break;
      case 'frameworkMessage': {
        const executor = this.books.httpExecutor(input.frameworkId, input.executorId);
        if (executor === undefined) this.log('warn', `Dropping a framework message for unknown executor ${input.executorId} of framework ${input.frameworkId}`);
        else this.http.frameworkMessage(executor, input.data);
        break;
      }
      case 'executorCall': {
        const executor = this.books.httpExecutor(input.call.framework_id.value, input.call.executor_id.value);
        assert(executor !== undefined && executorCallError(this.books, input.call) === undefined, 'executor call dispatched without its check');
        this.http.call(executor, input.call);
        break;
      }
      case 'executorDisconnected': {
        const executor = this.books.httpExecutor(input.frameworkId, input.executorId);
        if (executor !== undefined) this.http.disconnected(executor);
        break;
      }
      case 'containerLaunched':
        this.onContainerLaunched(input.containerId, input.pid, input.networkInfos);
        break;
      case 'containerLimitation':
        this.onContainerLimitation(input.containerId, input.limitation);
        break;
      case 'containerLaunchFailed':
        this.onContainerLaunchFailed(input.containerId, input.message);
        break;
      case 'containerExited':
        this.onContainerExited(input.containerId, input.exit);
        break;
      case 'timerFired':
        this.onTimerFired(input);
        break;
      case 'recover':
        this.agentIdValue = input.agentId;
        recoverRuns(this.recoveryContext(), input);
        break;
      case 'checkResult': {
        const executor = this.books.executorOfContainer(input.containerId);
        if (executor !== undefined) this.checks.probeFinished(executor, input.checker, input.attempt, input.result);
        break;
      }
      default:
        assertNever(input, 'agent input');
    }
    return this.effects.splice(0);
  }

  /** The tasks to report when (re)subscribing, with the update each has in flight. */
  taskReports(): TaskReport[] {
    const reports: TaskReport[] = [];
    for (const framework of this.frameworks.values()) {
      if (framework.terminating) continue;
      const tasks = [...framework.executors.values()].map((e) => ({ task: e.task, head: this.updates.head(framework.id, e.id) }));
      for (const { task, head } of [...tasks, ...this.http.taskReports(framework)]) {
        reports.push({
          framework_id: { value: framework.id },
          task: task.info,
          state: task.state,
          ...(head === undefined ? {} : { status_update_state: head.state, status_update_uuid: head.uuid! }),
        });
      }
    }
    return reports;
  }

  /** Custom and default executors whose containers may still run, for the master's accounting. */
  executorReports(): ExecutorReport[] {
    return [...this.frameworks.values()]
      .filter((f) => !f.terminating)
      .flatMap((f) => [...f.httpExecutors.values()].filter((e) => e.phase !== 'exited'))
      .map((e) => ({ framework_id: { value: e.frameworkId }, executor_info: e.info }));
  }

  /** FrameworkInfos (with their ids) of the frameworks whose tasks and executors the reports list. */
  frameworkInfos(): FrameworkInfo[] {
    return [...this.frameworks.values()]
      .filter((f) => !f.terminating && (f.executors.size > 0 || f.httpExecutors.size > 0))
      .map((f) => ({ ...f.info, id: { value: f.id } }));
  }

  /**
   * Whether the agent takes a v1 Executor API call (facts 2): the status and message to answer
   * otherwise. Dispatch an accepted call as an `executorCall` input.
   */
  executorCallError(call: ExecutorCall): { status: 400 | 403 | 501; message: string } | undefined {
    return executorCallError(this.books, call);
  }

  /** Containers not yet known to have exited. */
  liveContainerCount(): number {
    return this.books.liveContainerCount();
  }

  private onRunTask(frameworkId: string, info: FrameworkInfo, task: TaskInfo): void {
    if (task.executor !== undefined) return this.http.runTasks(frameworkId, info, task.executor, [task], false);
    const taskId = task.task_id.value;
    const known = this.frameworks.get(frameworkId);
    if (known?.terminating) return this.log('warn', `Ignoring task ${taskId}: framework ${frameworkId} is shutting down`);
    if (known?.executors.has(taskId)) return this.log('warn', `Ignoring task ${taskId} of framework ${frameworkId}: already running`);
    const framework = this.books.frameworkFor(frameworkId, info);
    const agentId = this.agentIdValue ?? task.agent_id.value;
    const containerId = this.deps.ids.uuid();
    const directory = executorRunPath(this.deps.config.workDir, agentId, frameworkId, taskId, containerId);
    const executor: ExecutorEntry = {
      id: taskId,
      frameworkId,
      containerId,
      directory,
      task: { frameworkId, info: task, state: 'TASK_STAGING', statuses: [] },
      launchedAtMs: this.deps.clock.monotonicMs(),
      phase: 'none',
    };
    this.books.addExecutor(framework, executor);

    const plan = planCommandTask(task, {
      agentId,
      frameworkId,
      frameworkInfo: info,
      containerId,
      directory,
      metaDirectory: metaRunPath(this.deps.config.workDir, agentId, frameworkId, taskId, containerId),
      endpoint: `${this.deps.config.ip}:${this.deps.config.port}`,
      executorShutdownGracePeriodMs: this.deps.config.executorShutdownGracePeriodMs,
    });
    if ('error' in plan) {
      this.counters.containerLaunchErrors++;
      this.sendStatus(executor, {
        state: 'TASK_FAILED',
        source: 'SOURCE_AGENT',
        reason: 'REASON_CONTAINER_LAUNCH_FAILED',
        message: plan.error,
      });
      return;
    }
    // Its CNI addresses come with containerLaunched; until then it reports none, not the agent's.
    if (namesNetwork(task.container)) executor.networkInfos = [];
    executor.checkers = taskCheckers(task);
    executor.phase = 'launching';
    this.sendStatus(executor, { state: 'TASK_STARTING', source: 'SOURCE_EXECUTOR' });
    this.effects.push({ kind: 'launchContainer', launch: plan });
  }

  private onKillTask(frameworkId: string, taskId: string, policy: KillPolicy | undefined): void {
    const framework = this.frameworks.get(frameworkId);
    // As Mesos: a terminating framework cannot acknowledge, so it gets no update.
    if (framework?.terminating) return this.log('warn', `Ignoring kill of task ${taskId}: framework ${frameworkId} is shutting down`);
    const executor = framework?.executors.get(taskId);
    if (executor === undefined) {
      const http = this.books.httpExecutorOfTask(frameworkId, taskId);
      if (http !== undefined) return this.http.killTask(http.executor, http.task, policy);
      return this.answerUnknownTaskKill(frameworkId, taskId, framework);
    }
    // A terminal update is already on its way to the master.
    if (isTerminalState(executor.task.state)) return;
    if (executor.kill === undefined && hasCapability(framework!.info, 'TASK_KILLING_STATE')) {
      this.sendStatus(executor, { state: 'TASK_KILLING', source: 'SOURCE_EXECUTOR' });
    }
    this.killContainer(executor, 'killTask', gracePeriodMs(policy ?? executor.task.info.kill_policy));
  }

  /**
   * Mesos's agent answers a kill of a task it has no executor for with TASK_DROPPED (TASK_LOST
   * for frameworks that are not partition-aware): the task never ran here, or is long gone.
   */
  private answerUnknownTaskKill(frameworkId: string, taskId: string, framework: FrameworkEntry | undefined): void {
    // One answer per task until it is acknowledged; a stream never continues past a terminal update.
    if (this.updates.pendingCount(frameworkId, taskId) > 0) return;
    const partitionAware = framework !== undefined && hasCapability(framework.info, 'PARTITION_AWARE');
    this.log('warn', `Cannot kill task ${taskId} of framework ${frameworkId}: no executor runs it on this agent`);
    this.sendStatusFor(frameworkId, taskId, undefined, {
      state: partitionAware ? 'TASK_DROPPED' : 'TASK_LOST',
      source: 'SOURCE_AGENT',
      reason: 'REASON_EXECUTOR_TERMINATED',
      message: 'Cannot find executor',
    });
  }

  private onAcknowledge(frameworkId: string, taskId: string, uuid: string): void {
    const outcome = this.updates.acknowledge(frameworkId, taskId, uuid);
    if (outcome.kind === 'ignored') {
      return this.log('info', `Ignoring acknowledgement ${uuid} for task ${taskId} of framework ${frameworkId}: ${outcome.reason}`);
    }
    this.emitUpdates(outcome.effects);
    const executor = this.books.executor(frameworkId, taskId);
    if (executor !== undefined && isTerminalState(outcome.status.state)) this.completeExecutorIfDone(executor);
    const http = this.books.httpExecutorOfTask(frameworkId, taskId);
    if (http !== undefined) this.http.acknowledged(http.executor, http.task);
  }

  /** The scheduler's SHUTDOWN: a command task's executor kills its task; others are asked to stop. */
  private onShutdownExecutor(frameworkId: string, executorId: string): void {
    const framework = this.frameworks.get(frameworkId);
    const command = framework?.executors.get(executorId);
    if (command !== undefined) {
      const grace = Math.min(gracePeriodMs(command.task.info.kill_policy), this.deps.config.executorShutdownGracePeriodMs);
      return this.killContainer(command, 'shutdown', grace);
    }
    const executor = framework?.httpExecutors.get(executorId);
    if (executor === undefined) return this.log('warn', `Cannot shut down executor ${executorId} of framework ${frameworkId}: it is not running here`);
    this.http.shutdown(executor);
  }

  private onShutdownFramework(frameworkId: string): void {
    const framework = this.frameworks.get(frameworkId);
    if (framework === undefined || framework.terminating) return;
    framework.terminating = true;
    this.emitUpdates(this.updates.cleanup(frameworkId));
    this.shutdownExecutors(framework);
    this.http.shutdownFramework(framework);
  }

  /** Kills every live container of `framework` with the shorter of its kill grace and the shutdown grace. */
  private shutdownExecutors(framework: FrameworkEntry): void {
    for (const executor of [...framework.executors.values()]) {
      const grace = Math.min(gracePeriodMs(executor.task.info.kill_policy), this.deps.config.executorShutdownGracePeriodMs);
      this.killContainer(executor, 'shutdown', grace);
      this.completeExecutorIfDone(executor);
    }
  }

  private onContainerLaunched(containerId: string, pid: number, networkInfos: Record<string, unknown>[] | undefined): void {
    const http = this.books.httpExecutorOfContainer(containerId);
    if (http !== undefined) return this.http.containerLaunched(http, pid, networkInfos);
    const executor = this.books.executorOfContainer(containerId);
    if (executor === undefined || executor.phase !== 'launching') return;
    executor.phase = 'running';
    executor.pid = pid;
    if (networkInfos !== undefined) executor.networkInfos = networkInfos;
    if (executor.kill !== undefined) {
      this.effects.push(...startKill(executor, this.deps.clock.monotonicMs())); // Killed while launching.
      return;
    }
    this.sendStatus(executor, { state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR' });
    this.checks.start(executor);
    const max = executor.task.info.max_completion_time;
    if (max !== undefined) {
      const atMs = this.deps.clock.monotonicMs() + max.nanoseconds / 1e6;
      this.effects.push({ kind: 'startTimer', timer: { kind: 'maxCompletion', containerId }, atMs });
    }
  }

  /**
   * Mesos destroys a container that exceeds a limit at once (no grace period); its task fails
   * with the limitation's reason when the exit arrives.
   */
  private onContainerLimitation(containerId: string, limitation: ContainerLimitation): void {
    const executor = this.books.executorOfContainer(containerId);
    if (executor === undefined || executor.phase !== 'running' || executor.limitation !== undefined) return;
    executor.limitation = limitation;
    this.log('warn', `Container ${containerId} of task ${executor.id}: ${limitation.message}; killing it`);
    executor.kill ??= { cause: 'limitation', graceMs: 0 };
    executor.kill.escalateAtMs = this.deps.clock.monotonicMs();
    this.effects.push({ kind: 'cancelTimer', timer: { kind: 'killEscalation', containerId } });
    this.effects.push({ kind: 'signalContainer', containerId, signal: 'SIGKILL' });
  }

  private onContainerLaunchFailed(containerId: string, message: string): void {
    const http = this.books.httpExecutorOfContainer(containerId);
    if (http !== undefined) return this.http.containerLaunchFailed(http, message);
    const executor = this.books.executorOfContainer(containerId);
    if (executor === undefined || executor.phase !== 'launching') return;
    executor.phase = 'exited';
    this.counters.containerLaunchErrors++;
    if (executor.kill !== undefined) {
      this.sendStatus(executor, {
        state: 'TASK_KILLED',
        source: 'SOURCE_AGENT',
        reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
        message: `Task killed during launch (${message})`,
      });
    } else {
      this.sendStatus(executor, { state: 'TASK_FAILED', source: 'SOURCE_AGENT', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message });
    }
    this.completeExecutorIfDone(executor);
  }

  private onContainerExited(containerId: string, exit: ContainerExit): void {
    const http = this.books.httpExecutorOfContainer(containerId);
    if (http !== undefined) return this.http.containerExited(http, exit);
    const executor = this.books.executorOfContainer(containerId);
    if (executor === undefined || executor.phase === 'exited') return;
    assert(executor.phase === 'running', `container ${containerId} exited while ${executor.phase}`);
    executor.phase = 'exited';
    this.checks.stop(executor);
    this.effects.push({ kind: 'cancelTimer', timer: { kind: 'killEscalation', containerId } });
    this.effects.push({ kind: 'cancelTimer', timer: { kind: 'maxCompletion', containerId } });
    const max = executor.task.info.max_completion_time;
    const maxMs = max === undefined ? undefined : max.nanoseconds / 1e6;
    const terminal = terminalStatusFor(exit, executor.kill?.cause, maxMs, executor.limitation);
    // As Mesos: a container destroyed for a limitation is reported by the agent, not the executor.
    this.sendStatus(executor, { ...terminal, source: terminal.limitation === undefined ? 'SOURCE_EXECUTOR' : 'SOURCE_AGENT' });
    this.completeExecutorIfDone(executor);
  }

  private onTimerFired({ timer }: Extract<AgentInput, { kind: 'timerFired' }>): void {
    if (timer.kind === 'statusUpdateRetry') return this.emitUpdates(this.updates.retry(timer));
    if (timer.kind === 'executorRegistration' || timer.kind === 'executorShutdown') {
      const http = this.books.httpExecutorOfContainer(timer.containerId);
      if (http !== undefined) this.http.timerFired(http, timer.kind);
      return;
    }
    const executor = this.books.executorOfContainer(timer.containerId);
    if (executor === undefined || executor.phase !== 'running') return;
    if (timer.kind === 'healthCheck' || timer.kind === 'check') return this.checks.timerFired(executor, timer.kind);
    if (timer.kind === 'killEscalation') {
      this.effects.push({ kind: 'signalContainer', containerId: timer.containerId, signal: 'SIGKILL' });
    } else {
      this.killContainer(executor, 'maxCompletion', gracePeriodMs(executor.task.info.kill_policy));
    }
  }

  /** Recovery (recovery.ts) works through the core's own handlers. */
  private recoveryContext(): RecoveryContext {
    return {
      books: this.books,
      updates: this.updates,
      workDir: this.deps.config.workDir,
      nowMs: this.deps.clock.monotonicMs(),
      realtimeMs: this.deps.clock.realtimeMs(),
      startTimer: (timer, atMs) => this.effects.push({ kind: 'startTimer', timer, atMs }),
      sendStatus: (executor, fields) => this.sendStatus(executor, fields),
      watch: (executor) => this.checks.start(executor),
      kill: (executor, graceMs) => this.killContainer(executor, 'killTask', graceMs),
      containerExited: (containerId, exit) => this.onContainerExited(containerId, exit),
      httpContainerExited: (executor, exit) => this.http.containerExited(executor, exit),
      completeExecutorIfDone: (executor) => this.completeExecutorIfDone(executor),
      log: (level, message) => this.log(level, message),
    };
  }

  private killContainer(executor: ExecutorEntry, cause: KillCause, graceMs: number): void {
    this.checks.stop(executor);
    this.effects.push(...requestKill(executor, cause, graceMs, this.deps.clock.monotonicMs()));
  }

  /** A task unhealthy `consecutive_failures` times in a row is killed, with TASK_KILLING where the framework wants it. */
  private killUnhealthy(executor: ExecutorEntry): void {
    const framework = this.frameworks.get(executor.frameworkId);
    if (executor.kill === undefined && framework !== undefined && hasCapability(framework.info, 'TASK_KILLING_STATE')) {
      this.sendStatus(executor, { state: 'TASK_KILLING', source: 'SOURCE_EXECUTOR' });
    }
    this.killContainer(executor, 'healthCheck', gracePeriodMs(executor.task.info.kill_policy));
  }

  /**
   * Moves an executor to history once its container is gone and the master has acknowledged its
   * task's terminal update (or its framework is shutting down); a framework with no executors
   * left moves to completed_frameworks.
   */
  private completeExecutorIfDone(executor: ExecutorEntry): void {
    if (executor.phase === 'launching' || executor.phase === 'running') return;
    const framework = this.frameworks.get(executor.frameworkId);
    assert(framework !== undefined, `executor ${executor.id} has no framework`);
    if (!framework.terminating) {
      if (!isTerminalState(executor.task.state)) return;
      if (this.updates.pendingCount(framework.id, executor.id) > 0) return;
    }
    this.books.retire(executor);
  }

  private sendStatus(executor: ExecutorEntry, fields: StatusFields): void {
    this.sendStatusFor(executor.frameworkId, executor.id, executor, fields);
  }

  /** Creates an update with a fresh uuid, records it, and queues it unless its framework is gone. */
  private sendStatusFor(frameworkId: string, taskId: string, executor: ExecutorEntry | undefined, fields: StatusFields): void {
    const status = newTaskStatus(taskId, executor, fields, {
      agentId: this.agentIdValue,
      ip: this.deps.config.ip,
      nowSecs: this.deps.clock.realtimeMs() / 1000,
      uuid: uuidToBase64(this.deps.ids.uuid()),
    });
    if (executor !== undefined) {
      assert(!isTerminalState(executor.task.state), `task ${taskId}: ${fields.state} after ${executor.task.state}`);
      executor.task.state = fields.state;
      executor.task.statuses.push(status);
    }
    countStatus(this.counters, fields.state);
    if (this.frameworks.get(frameworkId)?.terminating) return;
    this.emitUpdates(this.updates.update(frameworkId, status));
  }

  /** Status update manager effects, with `forward` turned into a STATUS_UPDATE carrying the latest state. */
  private emitUpdates(effects: StatusUpdateEffect[]): void {
    for (const effect of effects) {
      if (effect.kind !== 'forward') {
        this.effects.push(effect);
        continue;
      }
      const task = this.books.task(effect.frameworkId, effect.status.task_id.value);
      this.effects.push({
        kind: 'forwardStatus',
        frameworkId: effect.frameworkId,
        status: effect.status,
        latestState: task?.state ?? effect.status.state,
      });
    }
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.effects.push({ kind: 'log', level, message });
  }
}
