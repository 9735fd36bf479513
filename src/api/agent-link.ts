/**
 * The internal agent link, agora's own protocol between agent and master (ARCHITECTURE.md):
 * the agent POSTs SUBSCRIBE to `AGENT_LINK_PATH` and holds the RecordIO event stream it gets
 * back; every other call is a plain POST carrying the stream's `Mesos-Stream-Id`, answered 202.
 * Same shape as the scheduler API: calls up, events down.
 */
import { z } from 'zod';
import { bytes, int } from './decode.js';
import { Id } from './common.js';
import { AgentInfo, FrameworkInfo, MasterInfo } from './framework.js';
import { Resource } from './resource.js';
import { ExecutorInfo, KillPolicy, TaskInfo, TaskState, TaskStatus } from './task.js';

export const AGENT_LINK_PATH = '/internal/v1/agent';

/** A task the agent already runs, reported when it (re)subscribes. */
export const TaskReport = z.object({
  framework_id: Id,
  task: TaskInfo,
  state: TaskState,
  /** Latest status the agent has not had acknowledged, if any. */
  status_update_state: TaskState.optional(),
  status_update_uuid: bytes.optional(),
});
export type TaskReport = z.infer<typeof TaskReport>;

/**
 * An executor the agent runs that is a process of its own (custom, or the default executor of
 * task groups), reported when it (re)subscribes so the master can account for its resources.
 * Command tasks' executors are the agent's own and never reported.
 */
export const ExecutorReport = z.object({ framework_id: Id, executor_info: ExecutorInfo });
export type ExecutorReport = z.infer<typeof ExecutorReport>;

export const AgentSubscribe = z.object({
  agent_info: AgentInfo,
  /** Where the master, frameworks and executors reach this agent's HTTP server. */
  endpoint: z.object({ ip: z.string(), port: int }),
  version: z.string(),
  tasks: z.array(TaskReport).optional(),
  frameworks: z.array(FrameworkInfo).optional(),
  executors: z.array(ExecutorReport).optional(),
});
export type AgentSubscribe = z.infer<typeof AgentSubscribe>;

export const AgentStatusUpdate = z.object({
  framework_id: Id,
  status: TaskStatus,
  /** The newest state the agent knows for the task, which may be ahead of `status`. */
  latest_state: TaskState.optional(),
});
export type AgentStatusUpdate = z.infer<typeof AgentStatusUpdate>;

export const AgentCall = z.discriminatedUnion('type', [
  z.object({ type: z.literal('SUBSCRIBE'), subscribe: AgentSubscribe }),
  z.object({ type: z.literal('STATUS_UPDATE'), agent_id: Id, status_update: AgentStatusUpdate }),
  z.object({ type: z.literal('PONG'), agent_id: Id }),
  /** An executor's MESSAGE call, for its framework (best effort, facts 2). */
  z.object({
    type: z.literal('EXECUTOR_MESSAGE'),
    agent_id: Id,
    executor_message: z.object({ framework_id: Id, executor_id: Id, data: bytes }),
  }),
  /**
   * A custom or default executor's process ended; `status` is its wait status as waitpid(2)
   * gives it (exit code << 8, or the signal number), which the framework gets in FAILURE.
   */
  z.object({
    type: z.literal('EXECUTOR_EXITED'),
    agent_id: Id,
    executor_exited: z.object({ framework_id: Id, executor_id: Id, status: int.optional() }),
  }),
  z.object({ type: z.literal('UNSUBSCRIBE'), agent_id: Id }),
]);
export type AgentCall = z.infer<typeof AgentCall>;

export const AgentEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('SUBSCRIBED'),
    subscribed: z.object({
      agent_id: Id,
      master_info: MasterInfo,
      ping_interval_seconds: z.number(),
      /**
       * How long the master waits for pongs before it marks the agent unreachable (Mesos's
       * MasterSlaveConnection.total_ping_timeout_seconds: --agent_ping_timeout x
       * --max_agent_ping_timeouts); the agent gives up on a silent master after as long.
       */
      total_ping_timeout_seconds: z.number().optional(),
    }),
  }),
  z.object({
    type: z.literal('RUN_TASK'),
    run_task: z.object({ framework_id: Id, framework_info: FrameworkInfo, task: TaskInfo }),
  }),
  /** The tasks of a task group, to be given to their (DEFAULT) executor at once (facts 8.5). */
  z.object({
    type: z.literal('RUN_TASK_GROUP'),
    run_task_group: z.object({
      framework_id: Id,
      framework_info: FrameworkInfo,
      executor: ExecutorInfo,
      task_group: z.object({ tasks: z.array(TaskInfo) }),
    }),
  }),
  z.object({
    type: z.literal('KILL_TASK'),
    kill_task: z.object({ framework_id: Id, task_id: Id, kill_policy: KillPolicy.optional() }),
  }),
  z.object({
    type: z.literal('ACKNOWLEDGE'),
    acknowledge: z.object({ framework_id: Id, task_id: Id, uuid: bytes }),
  }),
  z.object({ type: z.literal('SHUTDOWN_FRAMEWORK'), shutdown_framework: z.object({ framework_id: Id }) }),
  /** The scheduler's SHUTDOWN call: the executor is asked to stop, and destroyed after its grace period. */
  z.object({ type: z.literal('SHUTDOWN_EXECUTOR'), shutdown_executor: z.object({ framework_id: Id, executor_id: Id }) }),
  /** The scheduler's MESSAGE call, for one executor (best effort). */
  z.object({
    type: z.literal('FRAMEWORK_MESSAGE'),
    framework_message: z.object({ framework_id: Id, executor_id: Id, data: bytes }),
  }),
  z.object({ type: z.literal('PING') }),
  /**
   * The agent's resources as the master now sees them, dynamic reservations included (after a
   * RESERVE or UNRESERVE, and on re-subscription when the agent missed one). The agent
   * checkpoints them and reports them when it subscribes again, so they survive its restart.
   */
  z.object({ type: z.literal('CHECKPOINT_RESOURCES'), checkpoint_resources: z.object({ resources: z.array(Resource) }) }),
  z.object({ type: z.literal('SHUTDOWN'), shutdown: z.object({ message: z.string() }) }),
  z.object({ type: z.literal('ERROR'), error: z.object({ message: z.string() }) }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

export { Resource };
