/**
 * `agora task log [-f] [--stderr] [--lines N] TASK`: a task's stdout (or stderr) from its sandbox,
 * read through its agent's Operator API (READ_FILE, by byte offsets, so following is exact); with
 * -f it keeps reading until the task ends (or Ctrl-C).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AgentView,
  agentCall,
  agentGet,
  agentName,
  ClusterClient,
  isTerminal,
  RefusedCallError,
  type TaskView,
  userError,
} from './task-client.js';
import type { TaskOutput } from './task-list.js';

export interface TaskLogOptions {
  master: string;
  task: string;
  follow: boolean;
  stderr: boolean;
  /** Only the last N lines; absent: the whole file. */
  lines?: number;
  /** How often -f looks for more output. */
  pollMs?: number;
}

/** What READ_FILE returns at most in one call (Mesos's 16 pages). */
const CHUNK_BYTES = 16 * 4096;
/** How often -f asks the master whether the task has ended. */
const STATE_CHECK_MS = 1_000;

export async function runTaskLog(options: TaskLogOptions, output: { out(bytes: Buffer): void; err: TaskOutput['err'] }): Promise<number> {
  const client = new ClusterClient(options.master);
  const { task, agent } = await client.findTask(options.task);
  const file = `${await sandboxOf(agent, task)}/${options.stderr ? 'stderr' : 'stdout'}`;
  const reader = new FileReader(agent, file);

  let size = await reader.size(options.follow);
  let offset = options.lines === undefined ? 0 : await reader.tailStart(size ?? 0, options.lines);
  offset = await reader.copy(offset, size ?? 0, output.out);
  if (!options.follow) {
    if (size === undefined) throw userError(`task '${task.id}' has no ${options.stderr ? 'stderr' : 'stdout'} yet in its sandbox on ${agentName(agent)}`);
    return 0;
  }
  let ended = isTerminal(task.state);
  let lastCheck = Date.now();
  for (;;) {
    size = await reader.size(true);
    if (size !== undefined && size < offset) offset = 0; // Truncated or rotated: start over.
    if (size !== undefined) offset = await reader.copy(offset, size, output.out);
    // The task's end is checked before a last read, so nothing it printed just before is lost.
    if (ended) return 0;
    if (Date.now() - lastCheck >= STATE_CHECK_MS) {
      lastCheck = Date.now();
      const now = (await client.tasks(true)).find((t) => t.id === task.id && t.frameworkId === task.frameworkId);
      ended = now === undefined || isTerminal(now.state);
      if (ended) continue;
    }
    await sleep(options.pollMs ?? 250);
  }
}

/** The sandbox of the task's latest run, from the agent's `/state` (Mesos's executor `directory`). */
async function sandboxOf(agent: AgentView, task: TaskView): Promise<string> {
  const state = (await agentGet(agent, '/state')) as AgentState;
  const executors = [...(state.frameworks ?? []), ...(state.completed_frameworks ?? [])]
    .filter((f) => f.id === task.frameworkId)
    .flatMap((f) => [...(f.executors ?? []), ...(f.completed_executors ?? [])]);
  const holds = (e: StateExecutor) =>
    [...(e.tasks ?? []), ...(e.queued_tasks ?? []), ...(e.completed_tasks ?? [])].some((t) => t.id === task.id);
  const executor = executors.filter(holds).at(-1) ?? executors.filter((e) => e.id === task.id).at(-1);
  if (executor?.directory === undefined) {
    throw userError(`${agentName(agent)} has no sandbox for task '${task.id}' (not started yet, or garbage collected)`);
  }
  // A command task's executor has the task's id. Another executor (a task group's) runs its
  // tasks in nested sandboxes, `tasks/<id>` under its own, when the agent lays them out so.
  if (executor.id !== task.id) {
    const nested = `${executor.directory}/tasks/${task.id}`;
    const listing = await agentCall(agent, { type: 'LIST_FILES', list_files: { path: nested } }).catch(() => undefined);
    if (listing !== undefined) return nested;
  }
  return executor.directory;
}

class FileReader {
  constructor(
    private readonly agent: AgentView,
    private readonly path: string,
  ) {}

  /** The file's size; undefined when it does not exist (yet), if `missingOk`. */
  async size(missingOk: boolean): Promise<number | undefined> {
    try {
      return (await this.read(0, 0)).size;
    } catch (err) {
      if (missingOk && err instanceof RefusedCallError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Writes [offset, end) to `out`; returns the offset reached. */
  async copy(offset: number, end: number, out: (bytes: Buffer) => void): Promise<number> {
    while (offset < end) {
      const { data } = await this.read(offset, Math.min(CHUNK_BYTES, end - offset));
      if (data.length === 0) break;
      out(data);
      offset += data.length;
    }
    return offset;
  }

  /** Where the last `lines` lines of the first `size` bytes start (a final newline ends a line). */
  async tailStart(size: number, lines: number): Promise<number> {
    if (lines <= 0) return size;
    let newlines = 0;
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - CHUNK_BYTES);
      const { data } = await this.read(start, end - start);
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] !== 0x0a || start + i === size - 1) continue;
        if (++newlines === lines) return start + i + 1;
      }
      end = start;
    }
    return 0;
  }

  private async read(offset: number, length: number): Promise<{ size: number; data: Buffer }> {
    const answer = (await agentCall(this.agent, { type: 'READ_FILE', read_file: { path: this.path, offset, length } })) as {
      read_file?: { size?: number; data?: string };
    };
    return { size: answer.read_file?.size ?? 0, data: Buffer.from(answer.read_file?.data ?? '', 'base64') };
  }
}

interface StateTask {
  id: string;
}

interface StateExecutor {
  id: string;
  directory?: string;
  tasks?: StateTask[];
  queued_tasks?: StateTask[];
  completed_tasks?: StateTask[];
}

interface StateFramework {
  id: string;
  executors?: StateExecutor[];
  completed_executors?: StateExecutor[];
}

interface AgentState {
  frameworks?: StateFramework[];
  completed_frameworks?: StateFramework[];
}
