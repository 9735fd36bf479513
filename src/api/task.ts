/** Tasks on the wire: TaskInfo, TaskStatus, their states, sources and reasons (facts 1.6, 5). */
import { z } from 'zod';
import { bytes, double } from './decode.js';
import { CommandInfo, ContainerID, DurationInfo, Id, Labels, PathSafeId } from './common.js';
import { Resource } from './resource.js';

export const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
] as const;
export const TaskState = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskState>;

const TERMINAL: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

export function isTerminalState(state: TaskState): boolean {
  return TERMINAL.has(state);
}

export const TASK_STATUS_REASONS = [
  'REASON_COMMAND_EXECUTOR_FAILED',
  'REASON_EXECUTOR_TERMINATED',
  'REASON_EXECUTOR_UNREGISTERED',
  'REASON_FRAMEWORK_REMOVED',
  'REASON_GC_ERROR',
  'REASON_INVALID_FRAMEWORKID',
  'REASON_INVALID_OFFERS',
  'REASON_MASTER_DISCONNECTED',
  'REASON_CONTAINER_LIMITATION_MEMORY',
  'REASON_RECONCILIATION',
  'REASON_AGENT_DISCONNECTED',
  'REASON_AGENT_REMOVED',
  'REASON_AGENT_RESTARTED',
  'REASON_AGENT_UNKNOWN',
  'REASON_TASK_INVALID',
  'REASON_TASK_UNAUTHORIZED',
  'REASON_TASK_UNKNOWN',
  'REASON_CONTAINER_PREEMPTED',
  'REASON_RESOURCES_UNKNOWN',
  'REASON_CONTAINER_LIMITATION',
  'REASON_CONTAINER_LIMITATION_DISK',
  'REASON_CONTAINER_LAUNCH_FAILED',
  'REASON_CONTAINER_UPDATE_FAILED',
  'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
  'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
  'REASON_TASK_GROUP_INVALID',
  'REASON_TASK_GROUP_UNAUTHORIZED',
  'REASON_IO_SWITCHBOARD_EXITED',
  'REASON_TASK_CHECK_STATUS_UPDATED',
  'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
  'REASON_TASK_KILLED_DURING_LAUNCH',
  'REASON_AGENT_REMOVED_BY_OPERATOR',
  'REASON_AGENT_REREGISTERED',
  'REASON_MAX_COMPLETION_TIME_REACHED',
  'REASON_AGENT_DRAINING',
] as const;
export const TaskStatusReason = z.enum(TASK_STATUS_REASONS);
export type TaskStatusReason = z.infer<typeof TaskStatusReason>;

export const TaskStatusSource = z.enum(['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR']);
export type TaskStatusSource = z.infer<typeof TaskStatusSource>;

export const ContainerStatus = z.object({
  container_id: ContainerID.optional(),
  network_infos: z.array(z.unknown()).optional(),
  cgroup_info: z.unknown().optional(),
  executor_pid: z.number().optional(),
});

export const TaskStatus = z.object({
  task_id: Id,
  state: TaskState,
  message: z.string().optional(),
  source: TaskStatusSource.optional(),
  reason: TaskStatusReason.optional(),
  data: bytes.optional(),
  agent_id: Id.optional(),
  executor_id: Id.optional(),
  timestamp: double.optional(),
  /** Base64 of the update's 16-byte UUID; present means the receiver must acknowledge it. */
  uuid: bytes.optional(),
  healthy: z.boolean().optional(),
  check_status: z.unknown().optional(),
  labels: Labels.optional(),
  container_status: ContainerStatus.optional(),
  unreachable_time: z.object({ nanoseconds: z.number() }).optional(),
  limitation: z.unknown().optional(),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

export const KillPolicy = z.object({ grace_period: DurationInfo.optional() });
export type KillPolicy = z.infer<typeof KillPolicy>;

export const ExecutorInfo = z.object({
  type: z.enum(['UNKNOWN', 'DEFAULT', 'CUSTOM']).optional(),
  executor_id: PathSafeId,
  framework_id: Id.optional(),
  command: CommandInfo.optional(),
  container: z.unknown().optional(),
  resources: z.array(Resource).optional(),
  name: z.string().optional(),
  source: z.string().optional(),
  data: bytes.optional(),
  discovery: z.unknown().optional(),
  shutdown_grace_period: DurationInfo.optional(),
  labels: Labels.optional(),
});
export type ExecutorInfo = z.infer<typeof ExecutorInfo>;

export const TaskInfo = z.object({
  name: z.string(),
  task_id: PathSafeId,
  agent_id: Id,
  resources: z.array(Resource).optional(),
  executor: ExecutorInfo.optional(),
  command: CommandInfo.optional(),
  container: z.unknown().optional(),
  health_check: z.unknown().optional(),
  check: z.unknown().optional(),
  kill_policy: KillPolicy.optional(),
  data: bytes.optional(),
  labels: Labels.optional(),
  discovery: z.unknown().optional(),
  max_completion_time: DurationInfo.optional(),
  limits: z.record(z.string(), z.unknown()).optional(),
});
export type TaskInfo = z.infer<typeof TaskInfo>;
