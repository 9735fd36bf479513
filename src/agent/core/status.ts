/**
 * Task status updates as the agent writes them: every field Mesos fills (facts 5.1), a fresh
 * uuid each, and the per-state counters of /metrics/snapshot. Pure.
 */
import type { CheckStatusInfo, TaskState, TaskStatus, TaskStatusReason, TaskStatusSource } from '../../api/index.js';
import { initialCheckStatus } from './checks.js';
import type { ContainerLimitation } from './effects.js';
import type { AgentCounters, ExecutorEntry } from './state.js';

export interface StatusFields {
  state: TaskState;
  source: TaskStatusSource;
  reason?: TaskStatusReason;
  message?: string;
  /** The limit a container exceeded, reported as TaskStatus.limitation. */
  limitation?: ContainerLimitation;
  /** The task's health (TASK_RUNNING health updates; false on the end of a task killed for it). */
  healthy?: boolean;
  /** The task's check result; absent: the empty status of its check, if it has one. */
  checkStatus?: CheckStatusInfo;
}

export interface StatusContext {
  agentId: string | undefined;
  /** The agent's advertised address: posix containers share the host network. */
  ip: string;
  nowSecs: number;
  /** Base64 of a fresh 16-byte UUID. */
  uuid: string;
}

/** A new update for `taskId`; with an executor it names the executor and the container. */
export function newTaskStatus(taskId: string, executor: ExecutorEntry | undefined, fields: StatusFields, ctx: StatusContext): TaskStatus {
  const checkStatus = fields.checkStatus ?? initialCheckStatus(executor);
  return {
    task_id: { value: taskId },
    state: fields.state,
    source: fields.source,
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
    ...(fields.message === undefined ? {} : { message: fields.message }),
    ...(fields.limitation === undefined ? {} : { limitation: limitationJson(fields.limitation) }),
    ...(fields.healthy === undefined ? {} : { healthy: fields.healthy }),
    ...(checkStatus === undefined ? {} : { check_status: checkStatus }),
    ...(ctx.agentId === undefined ? {} : { agent_id: { value: ctx.agentId } }),
    ...(executor === undefined
      ? {}
      : {
          executor_id: { value: executor.id },
          container_status: {
            container_id: { value: executor.containerId },
            // Host networking: the task is reachable at the agent's address, as Mesos reports it.
            network_infos: executor.networkInfos ?? [{ ip_addresses: [{ protocol: 'IPv4', ip_address: ctx.ip }] }],
            ...(executor.pid === undefined ? {} : { executor_pid: executor.pid }),
          },
        }),
    timestamp: ctx.nowSecs,
    uuid: ctx.uuid,
  };
}

/** TaskStatus.limitation (Mesos's TaskResourceLimitation): the resource that was exceeded. */
function limitationJson(limitation: ContainerLimitation): { resources: unknown[] } {
  const { name, valueMb } = limitation.resource;
  return { resources: [{ name, type: 'SCALAR', scalar: { value: valueMb } }] };
}

/** Counts an update in Mesos's `slave/valid_status_updates` and `slave/tasks_<terminal state>`. */
export function countStatus(counters: AgentCounters, state: TaskState): void {
  counters.validStatusUpdates++;
  if (state === 'TASK_FINISHED') counters.tasksFinished++;
  else if (state === 'TASK_FAILED') counters.tasksFailed++;
  else if (state === 'TASK_KILLED') counters.tasksKilled++;
  else if (state === 'TASK_LOST' || state === 'TASK_DROPPED') counters.tasksLost++;
  else if (state === 'TASK_GONE') counters.tasksGone++;
}
