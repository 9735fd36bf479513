/**
 * What the agent checkpoints of a task when its status update stream moves (facts 7.2): the
 * framework, executor and run it belongs to, its TaskInfo, and the record (an update or an
 * acknowledgement). Only for frameworks with FrameworkInfo.checkpoint set. Pure.
 */
import type { ExecutorInfo, FrameworkInfo, TaskInfo, TaskStatus } from '../../api/index.js';
import type { AgentBooks } from './books.js';

export type StreamRecord = { type: 'UPDATE'; status: TaskStatus } | { type: 'ACK'; uuid: string };

export interface TaskCheckpoint {
  agentId: string;
  frameworkId: string;
  frameworkInfo: FrameworkInfo;
  executorId: string;
  containerId: string;
  /** A custom or default executor's ExecutorInfo; absent for a command task. */
  executorInfo?: ExecutorInfo;
  task: TaskInfo;
  record: StreamRecord;
}

/**
 * The checkpoint of a record of task `taskId`, or undefined when there is nothing to write: the
 * framework does not checkpoint, or no executor of this agent runs the task (an answer to a kill
 * of an unknown task).
 */
export function taskCheckpoint(
  books: AgentBooks,
  agentId: string | undefined,
  frameworkId: string,
  taskId: string,
  record: StreamRecord,
): TaskCheckpoint | undefined {
  const framework = books.frameworks.get(frameworkId);
  if (agentId === undefined || framework?.info.checkpoint !== true) return undefined;
  const frameworkInfo = { ...framework.info, id: { value: frameworkId } };
  const command = framework.executors.get(taskId);
  if (command !== undefined) {
    return { agentId, frameworkId, frameworkInfo, executorId: command.id, containerId: command.containerId, task: command.task.info, record };
  }
  const http = books.httpExecutorOfTask(frameworkId, taskId);
  if (http === undefined) return undefined;
  const { executor, task } = http;
  return { agentId, frameworkId, frameworkInfo, executorId: executor.id, containerId: executor.containerId, executorInfo: executor.info, task: task.info, record };
}
