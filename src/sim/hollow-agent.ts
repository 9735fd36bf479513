/**
 * A hollow agent: registers like a real one and speaks the agent link, but runs no processes.
 * A launched task turns RUNNING after a short delay and ends when its labels say (a sampled
 * duration and outcome); status updates are delivered one at a time until acknowledged, as
 * the real agent's status update manager does.
 */
import { base64Encode } from '../base/index.js';
import type { Prng } from '../base/index.js';
import type { AgentCall, AgentEvent, AgentSubscribe, TaskInfo, TaskState, TaskStatus } from '../api/index.js';
import { isTerminalState } from '../api/index.js';
import { Resources } from '../resources/index.js';
import type { Timeline } from './sim-clock.js';

export const DURATION_LABEL = 'agora.sim/duration_ms';
export const OUTCOME_LABEL = 'agora.sim/outcome';
const RETRY_MS = 10_000;

export interface AgentWire {
  /** Sends a non-SUBSCRIBE call to the master over the link. */
  call(agent: HollowAgent, call: Exclude<AgentCall, { type: 'SUBSCRIBE' }>): void;
}

interface HollowTask {
  frameworkId: string;
  /** The role the task's resources were allocated to. */
  role: string;
  info: TaskInfo;
  resources: Resources;
  state: TaskState;
  /** Updates not yet acknowledged, oldest first; the head is in flight. */
  pending: TaskStatus[];
  endTimer: number;
}

export class HollowAgent {
  agentId: string | undefined;
  streamId: string | undefined;
  readonly tasks = new Map<string, HollowTask>();
  private updateCount = 0;
  private generation = 0;

  constructor(
    readonly index: number,
    readonly total: Resources,
    private readonly clock: Timeline,
    private readonly prng: Prng,
    private readonly wire: AgentWire,
    private readonly taskStartMs: { min: number; max: number },
  ) {}

  subscribeCall(): AgentSubscribe {
    return {
      agent_info: { hostname: `hollow-${this.index}`, resources: this.total.toWire(), ...(this.agentId ? { id: { value: this.agentId } } : {}) },
      endpoint: { ip: '10.0.0.1', port: 10_000 + this.index },
      version: 'sim',
    };
  }

  /** Resources of tasks running here, by the agent's own account. */
  used(): Resources {
    let used = Resources.empty();
    for (const task of this.tasks.values()) if (!isTerminalState(task.state)) used = used.add(task.resources);
    return used;
  }

  /** Resources of running tasks by the role they were allocated to. */
  usedByRole(): Map<string, Resources> {
    const used = new Map<string, Resources>();
    for (const task of this.tasks.values()) {
      if (!isTerminalState(task.state)) used.set(task.role, (used.get(task.role) ?? Resources.empty()).add(task.resources));
    }
    return used;
  }

  /** Updates sent but not yet acknowledged. */
  unacknowledged(): number {
    let count = 0;
    for (const task of this.tasks.values()) count += task.pending.length;
    return count;
  }

  onEvent(event: AgentEvent): void {
    switch (event.type) {
      case 'SUBSCRIBED':
        this.agentId = event.subscribed.agent_id.value;
        return;
      case 'RUN_TASK':
        return this.runTask(event.run_task.framework_id.value, event.run_task.task);
      case 'KILL_TASK': {
        const task = this.tasks.get(event.kill_task.task_id.value);
        if (task !== undefined && !isTerminalState(task.state)) this.transition(task, 'TASK_KILLED', 'Command terminated with signal Terminated');
        return;
      }
      case 'ACKNOWLEDGE':
        return this.acknowledged(event.acknowledge.task_id.value, event.acknowledge.uuid);
      case 'PING':
        this.wire.call(this, { type: 'PONG', agent_id: { value: this.agentId! } });
        return;
      case 'SHUTDOWN_FRAMEWORK':
        for (const [id, task] of this.tasks) if (task.frameworkId === event.shutdown_framework.framework_id.value) this.tasks.delete(id);
        return;
      case 'SHUTDOWN':
      case 'ERROR':
        this.tasks.clear();
        this.generation++;
        return;
    }
  }

  private runTask(frameworkId: string, info: TaskInfo): void {
    const label = (key: string) => info.labels?.labels?.find((l) => l.key === key)?.value;
    const task: HollowTask = {
      frameworkId,
      role: info.resources?.find((r) => r.allocation_info?.role !== undefined)?.allocation_info?.role ?? '*',
      info,
      resources: Resources.fromWire(info.resources ?? []).unallocated(),
      state: 'TASK_STAGING',
      pending: [],
      endTimer: 0,
    };
    this.tasks.set(info.task_id.value, task);
    this.transition(task, 'TASK_STARTING');
    const startMs = this.taskStartMs.min + this.prng.next() * (this.taskStartMs.max - this.taskStartMs.min);
    const generation = this.generation;
    this.clock.after(startMs, () => {
      if (generation !== this.generation || task.state !== 'TASK_STARTING') return;
      this.transition(task, 'TASK_RUNNING');
      const durationMs = Number(label(DURATION_LABEL) ?? NaN);
      if (!Number.isFinite(durationMs)) return; // Runs until killed.
      this.clock.after(durationMs, () => {
        if (generation !== this.generation || task.state !== 'TASK_RUNNING') return;
        const failed = label(OUTCOME_LABEL) === 'fail';
        this.transition(task, failed ? 'TASK_FAILED' : 'TASK_FINISHED', failed ? 'Command exited with status 1' : 'Command exited with status 0');
      });
    });
  }

  private transition(task: HollowTask, state: TaskState, message?: string): void {
    task.state = state;
    const bytes = new Uint8Array(16);
    const n = this.updateCount++;
    bytes[0] = this.index & 0xff;
    bytes[1] = (this.index >> 8) & 0xff;
    bytes[2] = (this.index >> 16) & 0xff;
    for (let i = 0; i < 6; i++) bytes[10 + i] = Math.floor(n / 256 ** i) & 0xff;
    task.pending.push({
      task_id: task.info.task_id,
      state,
      source: 'SOURCE_EXECUTOR',
      ...(message === undefined ? {} : { message }),
      uuid: base64Encode(bytes),
      timestamp: this.clock.realtimeMs() / 1000,
    });
    if (task.pending.length === 1) this.sendHead(task);
  }

  private sendHead(task: HollowTask): void {
    const head = task.pending[0];
    if (head === undefined || this.agentId === undefined) return;
    this.wire.call(this, {
      type: 'STATUS_UPDATE',
      agent_id: { value: this.agentId },
      status_update: { framework_id: { value: task.frameworkId }, status: head, latest_state: task.state },
    });
    const generation = this.generation;
    this.clock.after(RETRY_MS, () => {
      if (generation === this.generation && task.pending[0] === head) this.sendHead(task);
    });
  }

  private acknowledged(taskId: string, uuid: string): void {
    const task = this.tasks.get(taskId);
    if (task === undefined || task.pending[0]?.uuid !== uuid) return;
    task.pending.shift();
    if (task.pending.length > 0) this.sendHead(task);
    else if (isTerminalState(task.state)) this.tasks.delete(taskId);
  }
}
