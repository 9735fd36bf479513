/**
 * `agora task list`: the cluster's tasks as a table (id, name, state, framework, agent), from the
 * master's GET_TASKS; filtered by framework, state and agent; finished tasks with --all.
 */
import { InvalidArgumentError } from 'commander';
import { TASK_STATES } from '../api/index.js';
import { ClusterClient, isTerminal, type TaskView } from './task-client.js';

export interface TaskListOptions {
  master: string;
  framework?: string;
  state?: string;
  agent?: string;
  all: boolean;
}

export interface TaskOutput {
  out(text: string): void;
  err(text: string): void;
}

/** `running`, `task_running` or `TASK_RUNNING` to `TASK_RUNNING`; anything else is refused. */
export function parseTaskState(text: string): string {
  const upper = text.trim().toUpperCase();
  const state = upper.startsWith('TASK_') ? upper : `TASK_${upper}`;
  if (!(TASK_STATES as readonly string[]).includes(state)) {
    const names = TASK_STATES.map((s) => s.slice('TASK_'.length).toLowerCase()).join(', ');
    throw new InvalidArgumentError(`--state: "${text}" is not a task state; use one of ${names}`);
  }
  return state;
}

export async function runTaskList(options: TaskListOptions, output: TaskOutput): Promise<number> {
  const client = new ClusterClient(options.master);
  // Asking for a terminal state means finished tasks are wanted.
  const completed = options.all || (options.state !== undefined && isTerminal(options.state));
  const tasks = (await client.tasks(completed)).filter(
    (t) =>
      (options.framework === undefined || t.frameworkId === options.framework) &&
      (options.state === undefined || t.state === options.state) &&
      (options.agent === undefined || t.agentId === options.agent),
  );
  if (tasks.length === 0) {
    const filtered = options.framework !== undefined || options.state !== undefined || options.agent !== undefined;
    output.err(`no ${completed ? '' : 'active '}tasks${filtered ? ' match' : ''}${completed ? '' : '; --all shows finished ones too'}\n`);
    return 0;
  }
  tasks.sort((a, b) => a.frameworkId.localeCompare(b.frameworkId) || a.id.localeCompare(b.id));
  output.out(formatTable(tasks));
  return 0;
}

export function formatTable(tasks: readonly TaskView[]): string {
  const rows = [['ID', 'NAME', 'STATE', 'FRAMEWORK', 'AGENT'], ...tasks.map((t) => [t.id, t.name, t.state, t.frameworkId, t.agentId])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
