/**
 * agora's default executor (facts 8.5): the executor of task groups (ExecutorInfo.type DEFAULT),
 * a process of its own that speaks the v1 Executor API to its agent. It runs each task of a group
 * in a container nested in its own (LAUNCH_CONTAINER / WAIT_CONTAINER / KILL_CONTAINER on the
 * agent's Operator API), reports their states, applies the termination policy (one task fails or
 * is killed: the rest of its group is killed), and exits once no group is left running.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ContainerID,
  EXECUTOR_API_PATH,
  type ExecutorCall,
  ExecutorEvent,
  type FrameworkInfo,
  hasCapability,
  isTerminalState,
  type KillPolicy,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
  type TaskStatusReason,
} from '../api/index.js';
import type { Clock } from '../base/index.js';
import { type EventStreamClient, openEventStream, request } from '../http/index.js';
import { initialCheckStatus, startTaskCheckers, type TaskCheckers } from './group-checks.js';
import { type ContainerTermination, type KillCause, killGraceMs, terminalStatus } from './task-groups.js';

export interface DefaultExecutorConfig {
  /** `http://ip:port` of the agent (MESOS_AGENT_ENDPOINT). */
  agentUrl: string;
  frameworkId: string;
  executorId: string;
  /** The executor's sandbox (MESOS_SANDBOX): its tasks' sandboxes are linked from `tasks/<id>`. */
  sandbox: string;
  /** MESOS_CHECKPOINT: reconnect when the agent goes away, instead of exiting. */
  checkpoint: boolean;
  /** MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: tasks are killed within it on SHUTDOWN. */
  shutdownGraceMs: number;
  /** MESOS_RECOVERY_TIMEOUT and MESOS_SUBSCRIPTION_BACKOFF_MAX (with checkpointing). */
  recoveryTimeoutMs: number;
  subscriptionBackoffMaxMs: number;
  /** For the health checks' and checks' schedules. */
  clock: Clock;
  /** MESOS_CONTAINER_IP: the executor's address on its network, which its tasks share (facts 8.5). */
  containerIp?: string;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

interface GroupRun {
  readonly tasks: TaskRun[];
  /** The termination policy struck (or a KILL): every task of the group is being killed. */
  killing: boolean;
}

interface TaskRun {
  readonly info: TaskInfo;
  readonly group: GroupRun;
  /** Its container, nested in the executor's. */
  readonly containerId: ContainerID;
  /** The state of the last update sent. */
  state: TaskState;
  phase: 'launching' | 'running' | 'exited';
  killed?: KillCause;
  killGraceMs?: number;
  escalation?: NodeJS.Timeout;
  /** The agent has acknowledged one of its updates at least. */
  acknowledged: boolean;
  /** Its health check and check, from TASK_RUNNING until it is killed or ends. */
  checkers?: TaskCheckers;
}

/** How long an executor with nothing left to run waits for its last updates to be acknowledged. */
const FINAL_ACK_WAIT_MS = 5_000;
const RECONNECT_MIN_MS = 100;

export class DefaultExecutor {
  private readonly tasks = new Map<string, TaskRun>();
  /** Updates sent and not yet ACKNOWLEDGED, by uuid, oldest first: resent when subscribing again. */
  private readonly unacknowledged = new Map<string, TaskStatus>();
  private subscribed: { frameworkInfo: FrameworkInfo; containerId: ContainerID } | undefined;
  private stream: EventStreamClient | undefined;
  private shuttingDown = false;
  private exiting = false;
  /** UPDATE calls go one at a time, so the agent gets each task's updates in order. */
  private updates: Promise<void> = Promise.resolve();
  private finish!: (code: number) => void;
  private readonly finished = new Promise<number>((resolve) => (this.finish = resolve));

  constructor(private readonly config: DefaultExecutorConfig) {}

  /** Subscribes and runs until nothing is left to run; resolves with the exit code. */
  async run(): Promise<number> {
    void this.connectLoop();
    const code = await this.finished;
    this.stream?.close();
    return code;
  }

  // ----- the executor API --------------------------------------------------------------------

  private async connectLoop(): Promise<void> {
    let delayMs = RECONNECT_MIN_MS;
    let disconnectedAt: number | undefined;
    while (!this.exiting) {
      let client: EventStreamClient & { errorText?: string };
      try {
        client = await openEventStream(`${this.config.agentUrl}${EXECUTOR_API_PATH}`, this.subscribeCall());
      } catch (err) {
        this.config.log('cannot reach the agent', { error: (err as Error).message });
        client = { status: 0, headers: {}, events: (async function* () {})(), close: () => undefined };
      }
      if (client.status === 200) {
        this.stream = client;
        delayMs = RECONNECT_MIN_MS;
        disconnectedAt = undefined;
        try {
          for await (const raw of client.events) this.onRecord(raw);
        } catch (err) {
          this.config.log('the event stream failed', { error: (err as Error).message });
        }
        this.stream = undefined;
        if (this.exiting) return;
        this.config.log('disconnected from the agent');
      } else if (client.status >= 400 && client.status < 500) {
        this.config.log('the agent refused the subscription', { status: client.status, error: client.errorText?.trim() });
        return this.exit(1);
      }
      // Facts 2.2: without checkpointing the executor does not outlive its connection. Until it has
      // subscribed once it keeps trying: on a network of its own the agent's endpoint opens in its
      // namespace a moment after it starts (the agent's registration timeout bounds the wait).
      if (!this.config.checkpoint && this.subscribed !== undefined) return this.exit(1);
      disconnectedAt ??= Date.now();
      if (Date.now() - disconnectedAt > this.config.recoveryTimeoutMs) {
        this.config.log('the agent did not come back within the recovery timeout; exiting');
        return this.exit(1);
      }
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, this.config.subscriptionBackoffMaxMs);
    }
  }

  private subscribeCall(): ExecutorCall {
    return {
      ...this.ids(),
      type: 'SUBSCRIBE',
      subscribe: {
        unacknowledged_tasks: [...this.tasks.values()].filter((t) => !t.acknowledged).map((t) => t.info),
        unacknowledged_updates: [...this.unacknowledged.values()].map((status) => ({ status })),
      },
    };
  }

  private onRecord(raw: unknown): void {
    const decoded = ExecutorEvent.safeParse(raw);
    if (!decoded.success) return this.config.log('ignoring an undecodable event', { error: decoded.error.issues[0]?.message });
    const event = decoded.data;
    switch (event.type) {
      case 'SUBSCRIBED': {
        const { framework_info, container_id } = event.subscribed;
        if (container_id === undefined) return this.config.log('SUBSCRIBED without a container id: cannot nest containers');
        this.subscribed = { frameworkInfo: framework_info, containerId: container_id };
        this.config.log('subscribed', { containerId: container_id.value });
        return;
      }
      case 'LAUNCH_GROUP':
        return void this.launchGroup(event.launch_group.task_group.tasks ?? []);
      case 'LAUNCH': {
        // Mesos's default executor runs task groups only.
        const run = this.track(event.launch.task, { tasks: [], killing: false });
        return this.sendUpdate(run, { state: 'TASK_FAILED', message: 'The default executor runs task groups only (LAUNCH_GROUP); use a LAUNCH_GROUP operation' });
      }
      case 'KILL':
        return this.killTask(event.kill.task_id.value, event.kill.kill_policy);
      case 'ACKNOWLEDGED': {
        const status = this.unacknowledged.get(event.acknowledged.uuid);
        this.unacknowledged.delete(event.acknowledged.uuid);
        const run = this.tasks.get(event.acknowledged.task_id.value);
        if (run !== undefined && status !== undefined) run.acknowledged = true;
        return this.maybeExit();
      }
      case 'SHUTDOWN':
        return this.shutdown();
      case 'MESSAGE':
        return this.config.log('ignoring a framework message: the default executor reads none');
      case 'ERROR':
        return this.config.log('the agent sent ERROR', { message: event.error.message });
      case 'HEARTBEAT':
        return;
    }
  }

  // ----- task groups -------------------------------------------------------------------------

  private async launchGroup(infos: TaskInfo[]): Promise<void> {
    const group: GroupRun = { tasks: [], killing: false };
    for (const info of infos) this.sendUpdate(this.track(info, group), { state: 'TASK_STARTING' });
    if (this.shuttingDown) {
      for (const run of group.tasks) this.ended(run, { state: 'TASK_KILLED', message: 'The executor is shutting down' });
      return;
    }
    await Promise.all(group.tasks.map((run) => this.launchTask(run)));
  }

  private track(info: TaskInfo, group: GroupRun): TaskRun {
    const parent = this.subscribed?.containerId;
    const run: TaskRun = {
      info,
      group,
      containerId: { value: randomUUID(), ...(parent === undefined ? {} : { parent }) },
      state: 'TASK_STAGING',
      phase: 'launching',
      acknowledged: false,
    };
    group.tasks.push(run);
    this.tasks.set(info.task_id.value, run);
    return run;
  }

  private async launchTask(run: TaskRun): Promise<void> {
    const { info } = run;
    try {
      const response = await this.operatorCall({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: run.containerId,
          command: { ...info.command, environment: { variables: this.taskEnvironment(info) } },
          resources: info.resources ?? [],
          ...(info.container === undefined ? {} : { container: info.container }),
        },
      });
      if (response.status !== 200 && response.status !== 202) throw new Error(response.text.trim() || `the agent answered ${response.status}`);
    } catch (err) {
      run.phase = 'exited';
      this.ended(run, { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: (err as Error).message });
      return;
    }
    run.phase = 'running';
    // As Mesos's default executor: the task's sandbox is reachable as tasks/<task id> in the executor's.
    await mkdir(join(this.config.sandbox, 'tasks'), { recursive: true })
      .then(() => symlink(join('..', 'containers', run.containerId.value), join(this.config.sandbox, 'tasks', info.task_id.value)))
      .catch((err: Error) => this.config.log('cannot link the task sandbox', { task: info.task_id.value, error: err.message }));
    if (run.killed !== undefined) this.signal(run); // Killed while it was launching.
    else {
      this.sendUpdate(run, { state: 'TASK_RUNNING' });
      this.startCheckers(run);
    }
    await this.waitFor(run);
  }

  /** WAIT_CONTAINER until the task's container ends (retried while the agent cannot be reached). */
  private async waitFor(run: TaskRun): Promise<void> {
    let termination: ContainerTermination | undefined;
    while (termination === undefined && !this.exiting) {
      try {
        const response = await this.operatorCall({ type: 'WAIT_CONTAINER', wait_container: { container_id: run.containerId } }, 0);
        if (response.status === 200) termination = (JSON.parse(response.text) as { wait_container: ContainerTermination }).wait_container;
        else if (response.status === 404) termination = { message: 'The container is gone' };
        else throw new Error(`the agent answered ${response.status}: ${response.text.trim()}`);
      } catch (err) {
        this.config.log('cannot wait for a task container; retrying', { task: run.info.task_id.value, error: (err as Error).message });
        await sleep(1_000);
      }
    }
    if (termination === undefined) return;
    run.phase = 'exited';
    clearTimeout(run.escalation);
    run.checkers?.stop();
    const ended = terminalStatus(termination, run.killed);
    // As the agent ends a command task killed for its health (decision 0007): healthy=false, and why.
    if (run.killed === 'health') this.ended(run, { ...ended, healthy: false, message: `Task killed after failing its health check; ${ended.message}` });
    else this.ended(run, ended);
    void this.operatorCall({ type: 'REMOVE_CONTAINER', remove_container: { container_id: run.containerId } }).catch(() => undefined);
  }

  /** Health checks and checks run from TASK_RUNNING; a task unhealthy too long is killed, and its group with it. */
  private startCheckers(run: TaskRun): void {
    if (run.info.health_check === undefined && run.info.check === undefined) return;
    const task = run.info.task_id.value;
    let healthy: boolean | undefined;
    run.checkers = startTaskCheckers(run.info, run.containerId, this.config.agentUrl, this.config.clock, {
      onHealth: (update) => {
        if (run.killed !== undefined || run.phase !== 'running') return;
        healthy = update.healthy;
        this.sendUpdate(run, {
          state: 'TASK_RUNNING',
          healthy: update.healthy,
          reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
          ...(update.message === undefined ? {} : { message: update.message }),
        });
        if (update.kill) {
          this.config.log('a task failed its health check too often; killing its group', { task });
          this.killGroup(run.group, 'health', run, undefined);
        }
      },
      onCheckStatus: () => {
        if (run.killed !== undefined || run.phase !== 'running') return;
        this.sendUpdate(run, { state: 'TASK_RUNNING', reason: 'REASON_TASK_CHECK_STATUS_UPDATED', ...(healthy === undefined ? {} : { healthy }) });
      },
      log: (message) => this.config.log(message, { task }),
    });
  }

  /** A task reached a terminal state: report it, apply the termination policy, maybe exit. */
  private ended(run: TaskRun, fields: { state: TaskState; message?: string; reason?: TaskStatusReason; limitation?: unknown; healthy?: boolean }): void {
    if (isTerminalState(run.state)) return;
    this.sendUpdate(run, fields);
    if (fields.state !== 'TASK_FINISHED' && !run.group.killing) {
      this.config.log('a task of the group ended; killing the others', { task: run.info.task_id.value, state: fields.state });
      this.killGroup(run.group, 'group', undefined, undefined);
    }
    this.maybeExit();
  }

  private killTask(taskId: string, policy: KillPolicy | undefined): void {
    const run = this.tasks.get(taskId);
    if (run === undefined) return this.config.log('ignoring a kill of an unknown task', { task: taskId });
    if (isTerminalState(run.state)) return;
    // Facts 1.2: killing one task of a group kills the whole group.
    this.killGroup(run.group, 'kill', run, policy);
  }

  /** Kills every live task of a group; `policy` (a KILL's) applies to `named` only, the others use their own. */
  private killGroup(group: GroupRun, cause: KillCause, named: TaskRun | undefined, policy: KillPolicy | undefined, capMs?: number): void {
    group.killing = true;
    // A health kill is the unhealthy task's own; its siblings die of the termination policy.
    for (const run of group.tasks) {
      this.kill(run, cause === 'health' && run !== named ? 'group' : cause, killGraceMs(run.info, run === named ? policy : undefined, capMs));
    }
  }

  private kill(run: TaskRun, cause: KillCause, graceMs: number): void {
    if (isTerminalState(run.state) || run.phase === 'exited') return;
    if (run.killed !== undefined) {
      if (graceMs < (run.killGraceMs ?? Infinity) && run.phase === 'running') {
        run.killGraceMs = graceMs;
        this.escalate(run, graceMs);
      }
      return;
    }
    run.killed = cause;
    run.killGraceMs = graceMs;
    // No health or check update follows a kill (decision 0007).
    run.checkers?.stop();
    if (this.subscribed !== undefined && hasCapability(this.subscribed.frameworkInfo, 'TASK_KILLING_STATE')) {
      this.sendUpdate(run, { state: 'TASK_KILLING' });
    }
    if (run.phase === 'running') this.signal(run);
  }

  /** SIGTERM now, SIGKILL when the grace period is over (facts 8.7). */
  private signal(run: TaskRun): void {
    void this.killContainer(run, 15);
    this.escalate(run, run.killGraceMs ?? 0);
  }

  private escalate(run: TaskRun, graceMs: number): void {
    clearTimeout(run.escalation);
    run.escalation = setTimeout(() => void this.killContainer(run, 9), graceMs);
  }

  private async killContainer(run: TaskRun, signal: 9 | 15): Promise<void> {
    if (run.phase !== 'running') return;
    const response = await this.operatorCall({ type: 'KILL_CONTAINER', kill_container: { container_id: run.containerId, signal } }).catch(
      (err: Error) => ({ status: 0, text: err.message }),
    );
    if (response.status !== 200) this.config.log('KILL_CONTAINER failed', { task: run.info.task_id.value, status: response.status, error: response.text });
  }

  /** SHUTDOWN: every task is killed within the shutdown grace period, then the executor exits. */
  private shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const groups = new Set([...this.tasks.values()].map((t) => t.group));
    for (const group of groups) this.killGroup(group, 'shutdown', undefined, undefined, this.config.shutdownGraceMs);
    this.maybeExit();
  }

  /** Exits when no task is left running: Mesos's executor ends once no active group remains. */
  private maybeExit(): void {
    if (this.exiting) return;
    const live = [...this.tasks.values()].some((t) => !isTerminalState(t.state));
    if (live || (this.tasks.size === 0 && !this.shuttingDown)) return;
    this.exiting = true;
    void (async () => {
      await this.updates;
      const deadline = Date.now() + FINAL_ACK_WAIT_MS;
      while (this.unacknowledged.size > 0 && Date.now() < deadline && this.stream !== undefined) await sleep(20);
      this.config.log('no task left; exiting');
      this.finish(0);
    })();
  }

  private exit(code: number): void {
    this.exiting = true;
    this.finish(code);
  }

  // ----- calls to the agent ------------------------------------------------------------------

  private sendUpdate(
    run: TaskRun,
    fields: { state: TaskState; message?: string; reason?: TaskStatusReason; limitation?: unknown; healthy?: boolean },
  ): void {
    const status: TaskStatus = {
      task_id: run.info.task_id,
      state: fields.state,
      source: 'SOURCE_EXECUTOR',
      executor_id: { value: this.config.executorId },
      uuid: randomBytes(16).toString('base64'),
      timestamp: Date.now() / 1000,
      container_status: { container_id: run.containerId },
      ...(fields.message === undefined ? {} : { message: fields.message }),
      ...(fields.reason === undefined ? {} : { reason: fields.reason }),
      ...(fields.limitation === undefined ? {} : { limitation: fields.limitation }),
      ...(fields.healthy === undefined ? {} : { healthy: fields.healthy }),
      ...checkStatusField(run),
    };
    run.state = fields.state;
    this.unacknowledged.set(status.uuid!, status);
    const call: ExecutorCall = { ...this.ids(), type: 'UPDATE', update: { status } };
    this.updates = this.updates.then(async () => {
      // Not delivered now: it stays unacknowledged and goes again with the next SUBSCRIBE.
      const response = await request(`${this.config.agentUrl}${EXECUTOR_API_PATH}`, JSON.stringify(call)).catch((err: Error) => ({ status: 0, text: err.message }));
      if (response.status !== 202) this.config.log('UPDATE not taken', { task: run.info.task_id.value, state: fields.state, status: response.status, error: response.text.trim() });
    });
  }

  private operatorCall(call: Record<string, unknown>, timeoutMs = 30_000) {
    return request(`${this.config.agentUrl}/api/v1`, JSON.stringify(call), { timeoutMs });
  }

  /** What each task's command sees besides its own environment (which wins). */
  private taskEnvironment(info: TaskInfo): Array<{ name: string; type: 'VALUE'; value: string }> {
    const role = info.resources?.find((r) => r.allocation_info?.role !== undefined)?.allocation_info?.role;
    const env: Record<string, string> = {
      MESOS_FRAMEWORK_ID: this.config.frameworkId,
      MESOS_EXECUTOR_ID: this.config.executorId,
      MESOS_TASK_ID: info.task_id.value,
      MESOS_AGENT_ENDPOINT: this.config.agentUrl.replace(/^https?:\/\//, ''),
      ...(role === undefined ? {} : { MESOS_ALLOCATION_ROLE: role }),
      ...(this.config.containerIp === undefined ? {} : { MESOS_CONTAINER_IP: this.config.containerIp }),
    };
    for (const variable of info.command?.environment?.variables ?? []) env[variable.name] = variable.value ?? '';
    return Object.entries(env).map(([name, value]) => ({ name, type: 'VALUE', value }));
  }

  private ids(): { framework_id: { value: string }; executor_id: { value: string } } {
    return { framework_id: { value: this.config.frameworkId }, executor_id: { value: this.config.executorId } };
  }
}

/** A task with a check carries its latest status in every update (the empty one before any result). */
function checkStatusField(run: TaskRun): { check_status?: unknown } {
  const status = run.checkers?.checkStatus ?? initialCheckStatus(run.info);
  return status === undefined ? {} : { check_status: status };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
