/**
 * The agent's checkpoint layout under `<work_dir>/meta` (facts 7.2, Mesos's paths) and the
 * text of its files: JSON of the wire messages, and each task's status update stream. Pure
 * strings in, values out; the reader and writer beside it do the I/O.
 */
import { isTerminalState, type TaskState, TaskStatus } from '../../api/index.js';

/**
 * ```
 * meta/boot_id
 * meta/slaves/latest -> <agent_id>
 * meta/slaves/<agent_id>/slave.info                      AgentInfo
 *   frameworks/<fid>/framework.info                      FrameworkInfo (with its id)
 *     executors/<eid>/executor.info                      ExecutorInfo (command tasks: the one Mesos would generate)
 *       runs/latest -> <container_id>
 *       runs/<container_id>/http.marker                  custom and default executors (v1 Executor API)
 *       runs/<container_id>/pids/forked.pid
 *       runs/<container_id>/tasks/<tid>/task.info        TaskInfo
 *       runs/<container_id>/tasks/<tid>/task.updates     the status update stream (below)
 * ```
 */
export const META = 'meta';
export const LATEST = 'latest';

export const metaPaths = {
  bootId: (workDir: string) => `${trim(workDir)}/${META}/boot_id`,
  agents: (workDir: string) => `${trim(workDir)}/${META}/slaves`,
  latestAgent: (workDir: string) => `${trim(workDir)}/${META}/slaves/${LATEST}`,
  agent: (workDir: string, agentId: string) => `${trim(workDir)}/${META}/slaves/${agentId}`,
  agentInfo: (workDir: string, agentId: string) => `${metaPaths.agent(workDir, agentId)}/slave.info`,
  frameworks: (workDir: string, agentId: string) => `${metaPaths.agent(workDir, agentId)}/frameworks`,
  framework: (workDir: string, agentId: string, frameworkId: string) => `${metaPaths.frameworks(workDir, agentId)}/${frameworkId}`,
  frameworkInfo: (workDir: string, agentId: string, frameworkId: string) => `${metaPaths.framework(workDir, agentId, frameworkId)}/framework.info`,
  executor: (workDir: string, agentId: string, frameworkId: string, executorId: string) =>
    `${metaPaths.framework(workDir, agentId, frameworkId)}/executors/${executorId}`,
  executorInfo: (workDir: string, agentId: string, frameworkId: string, executorId: string) =>
    `${metaPaths.executor(workDir, agentId, frameworkId, executorId)}/executor.info`,
  runs: (workDir: string, agentId: string, frameworkId: string, executorId: string) =>
    `${metaPaths.executor(workDir, agentId, frameworkId, executorId)}/runs`,
  /** Same as core/paths.ts metaRunPath. */
  run: (workDir: string, agentId: string, frameworkId: string, executorId: string, containerId: string) =>
    `${metaPaths.runs(workDir, agentId, frameworkId, executorId)}/${containerId}`,
  httpMarker: (runDir: string) => `${runDir}/http.marker`,
  tasks: (runDir: string) => `${runDir}/tasks`,
  taskInfo: (runDir: string, taskId: string) => `${runDir}/tasks/${taskId}/task.info`,
  taskUpdates: (runDir: string, taskId: string) => `${runDir}/tasks/${taskId}/task.updates`,
};

/**
 * One entry of a task's `task.updates`: an update the agent accepted, or the master's
 * acknowledgement of the stream's head. Mesos writes length-prefixed protobuf records; agora
 * writes one JSON object a line (docs/decisions/0012).
 */
export type UpdateRecord = { type: 'UPDATE'; status: TaskStatus } | { type: 'ACK'; uuid: string };

export function serializeUpdates(records: readonly UpdateRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/**
 * The records of a `task.updates` text. A last line without its newline is a write cut short
 * (only possible for files not written atomically) and is dropped, as Mesos truncates a partial
 * record; anything else unreadable is an error naming the line.
 */
export function parseUpdates(text: string): { records: UpdateRecord[] } | { error: string } {
  // After the last newline comes '' (a whole file) or a partial line (dropped).
  const complete = text.split('\n').slice(0, -1);
  const records: UpdateRecord[] = [];
  for (const [index, line] of complete.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { error: `line ${index + 1} is not JSON` };
    }
    const record = value as { type?: unknown; status?: unknown; uuid?: unknown };
    if (record.type === 'ACK' && typeof record.uuid === 'string') {
      records.push({ type: 'ACK', uuid: record.uuid });
      continue;
    }
    const status = record.type === 'UPDATE' ? TaskStatus.safeParse(record.status) : undefined;
    if (status === undefined || !status.success || status.data.uuid === undefined) {
      return { error: `line ${index + 1} is neither an UPDATE with a TaskStatus carrying a uuid nor an ACK with a uuid` };
    }
    records.push({ type: 'UPDATE', status: status.data });
  }
  return { records };
}

/** A task's stream as its records leave it. */
export interface TaskStream {
  /** Every update, oldest first. */
  statuses: TaskStatus[];
  /** The updates not yet acknowledged, oldest first (the head is the one to send again). */
  pending: TaskStatus[];
  /** The latest state the agent knew; undefined before any update. */
  state: TaskState | undefined;
  /** Its terminal update is acknowledged: nothing is left to do for it. */
  closed: boolean;
}

/**
 * Replays records as the status update manager applied them: an ACK takes the head off the
 * pending queue. An ACK of anything but the head cannot have been written by the agent.
 */
export function replayUpdates(records: readonly UpdateRecord[]): TaskStream | { error: string } {
  const statuses: TaskStatus[] = [];
  const pending: TaskStatus[] = [];
  for (const [index, record] of records.entries()) {
    if (record.type === 'UPDATE') {
      const last = statuses.at(-1);
      if (last !== undefined && isTerminalState(last.state)) return { error: `record ${index + 1}: ${record.status.state} after terminal ${last.state}` };
      statuses.push(record.status);
      pending.push(record.status);
      continue;
    }
    if (pending[0]?.uuid !== record.uuid) return { error: `record ${index + 1}: acknowledgement of ${record.uuid}, which is not the oldest unacknowledged update` };
    pending.shift();
  }
  const state = statuses.at(-1)?.state;
  return { statuses, pending, state, closed: state !== undefined && isTerminalState(state) && pending.length === 0 };
}

function trim(path: string): string {
  return path.endsWith('/') && path.length > 1 ? path.slice(0, -1) : path;
}
