/**
 * The v1 Executor API (facts section 2): `executor.Call` as executors send it to their agent
 * (`POST /api/v1/executor`), decoded leniently, and `executor.Event` as the agent streams it.
 * Semantics live in agent/core and src/executor; this is shape only.
 */
import { z } from 'zod';
import { bytes } from './decode.js';
import { ContainerID, Id } from './common.js';
import { AgentInfo, FrameworkInfo } from './framework.js';
import { ExecutorInfo, KillPolicy, TaskInfo, TaskStatus } from './task.js';

export const EXECUTOR_API_PATH = '/api/v1/executor';

export const TaskGroupInfo = z.object({ tasks: z.array(TaskInfo).optional() });
export type TaskGroupInfo = z.infer<typeof TaskGroupInfo>;

/** `executor.Call.Update`: one status update, which the executor keeps until ACKNOWLEDGED. */
export const ExecutorUpdate = z.object({ status: TaskStatus });
export type ExecutorUpdate = z.infer<typeof ExecutorUpdate>;

export const EXECUTOR_CALL_TYPES = ['UNKNOWN', 'SUBSCRIBE', 'UPDATE', 'MESSAGE', 'HEARTBEAT'] as const;
export type ExecutorCallType = (typeof EXECUTOR_CALL_TYPES)[number];

/**
 * The call envelope. `type` stays a string so that an unknown type can be answered by name;
 * the sub-messages are checked against the type by the agent (agent/core/executor-calls.ts).
 */
export const ExecutorCall = z.object({
  executor_id: Id,
  framework_id: Id,
  type: z.string(),
  subscribe: z
    .object({
      unacknowledged_tasks: z.array(TaskInfo).optional(),
      unacknowledged_updates: z.array(ExecutorUpdate).optional(),
    })
    .optional(),
  update: ExecutorUpdate.optional(),
  message: z.object({ data: bytes }).optional(),
});
export type ExecutorCall = z.infer<typeof ExecutorCall>;

/** `executor.Event`, as the agent sends it and executors (the default executor, tests) decode it. */
export const ExecutorEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('SUBSCRIBED'),
    subscribed: z.object({
      executor_info: ExecutorInfo,
      framework_info: FrameworkInfo,
      agent_info: AgentInfo,
      container_id: ContainerID.optional(),
    }),
  }),
  z.object({ type: z.literal('LAUNCH'), launch: z.object({ task: TaskInfo }) }),
  z.object({ type: z.literal('LAUNCH_GROUP'), launch_group: z.object({ task_group: TaskGroupInfo }) }),
  z.object({ type: z.literal('KILL'), kill: z.object({ task_id: Id, kill_policy: KillPolicy.optional() }) }),
  z.object({ type: z.literal('ACKNOWLEDGED'), acknowledged: z.object({ task_id: Id, uuid: bytes }) }),
  z.object({ type: z.literal('MESSAGE'), message: z.object({ data: bytes }) }),
  z.object({ type: z.literal('ERROR'), error: z.object({ message: z.string() }) }),
  z.object({ type: z.literal('SHUTDOWN') }),
  z.object({ type: z.literal('HEARTBEAT') }),
]);
export type ExecutorEvent = z.infer<typeof ExecutorEvent>;
