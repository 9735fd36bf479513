/**
 * Writes the agent's checkpoint (layout.ts) as the core asks: the agent's id and AgentInfo, and
 * per task of a checkpointing framework its framework, executor, run, TaskInfo and update
 * stream. Every file is replaced atomically; writes of one run happen in order. A run's
 * directory is removed once its container is gone and every task's stream is closed.
 */
import { mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { AgentInfo, ExecutorInfo } from '../../api/index.js';
import { writeFileAtomically } from '../../io/atomic-file.js';
import type { TaskCheckpoint } from '../core/index.js';
import { metaPaths, replayUpdates, serializeUpdates, type UpdateRecord } from './layout.js';

interface RunState {
  /** Task id to its stream's records. */
  readonly streams: Map<string, UpdateRecord[]>;
  containerExited: boolean;
  /** The last write of this run: the next one starts after it. */
  chain: Promise<void>;
}

export class CheckpointWriter {
  private readonly runs = new Map<string, RunState>();
  /** Files written in this life with the content they have, so unchanged ones are not written again. */
  private readonly written = new Map<string, string>();
  private agentWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly workDir: string,
    private readonly logger: Logger,
  ) {}

  /** The agent's id (`slaves/latest`) and AgentInfo, when the master gives or confirms the id. */
  agent(agentId: string, info: AgentInfo): Promise<void> {
    const text = `${JSON.stringify({ ...info, id: { value: agentId } })}\n`;
    const infoPath = metaPaths.agentInfo(this.workDir, agentId);
    const latest = metaPaths.latestAgent(this.workDir);
    if (this.written.get(infoPath) === text && this.written.get(latest) === agentId) return this.agentWrite;
    this.written.set(infoPath, text);
    this.written.set(latest, agentId);
    this.agentWrite = this.agentWrite
      .then(async () => {
        await writeFileAtomically(infoPath, text);
        await replaceSymlink(latest, agentId);
      })
      .catch((err: Error) => this.logger.error({ error: err.message }, 'cannot checkpoint the agent id'));
    return this.agentWrite;
  }

  /** The host's boot id, so that a restart after a reboot knows no container survived. */
  async bootId(bootId: string): Promise<void> {
    await writeFileAtomically(metaPaths.bootId(this.workDir), `${bootId}\n`);
  }

  /** After recovery: the records a recovered task's stream already has (new ones follow them). */
  restore(runDir: string, taskId: string, records: UpdateRecord[]): void {
    this.run(runDir).streams.set(taskId, [...records]);
  }

  /**
   * Checkpoints one record of a task, with whatever of its framework, executor and run is not
   * written yet. Resolves once it is on disk (the update may then be forwarded); never rejects.
   */
  task(c: TaskCheckpoint): Promise<void> {
    const runDir = metaPaths.run(this.workDir, c.agentId, c.frameworkId, c.executorId, c.containerId);
    const run = this.run(runDir);
    const records = run.streams.get(c.task.task_id.value) ?? [];
    records.push(c.record);
    run.streams.set(c.task.task_id.value, records);
    const files: Array<[string, string]> = [];
    const once = (path: string, text: string) => {
      if (this.written.get(path) === text) return;
      this.written.set(path, text);
      files.push([path, text]);
    };
    once(metaPaths.frameworkInfo(this.workDir, c.agentId, c.frameworkId), json(c.frameworkInfo));
    once(metaPaths.executorInfo(this.workDir, c.agentId, c.frameworkId, c.executorId), json(c.executorInfo ?? commandExecutorInfo(c)));
    if (c.executorInfo !== undefined) once(metaPaths.httpMarker(runDir), '');
    once(metaPaths.taskInfo(runDir, c.task.task_id.value), json(c.task));
    const latest = this.written.get(`${runDir}:latest`) === undefined;
    this.written.set(`${runDir}:latest`, c.containerId);
    const updates = serializeUpdates(records);
    const updatesPath = metaPaths.taskUpdates(runDir, c.task.task_id.value);
    run.chain = run.chain
      .then(async () => {
        for (const [path, text] of files) await writeFileAtomically(path, text);
        if (latest) await replaceSymlink(`${dirname(runDir)}/latest`, c.containerId);
        await writeFileAtomically(updatesPath, updates);
      })
      .catch((err: Error) => this.logger.error({ error: err.message, path: updatesPath }, 'cannot checkpoint a status update'));
    const written = run.chain;
    // Forgetting a finished run waits its turn too, so flushed() covers it.
    run.chain = written.then(() => this.removeIfDone(runDir));
    return written;
  }

  /**
   * A run's container is gone. A run with nothing checkpointed (a framework that does not
   * checkpoint) is forgotten now; a checkpointed one once its streams are closed.
   */
  containerExited(runDir: string): Promise<void> {
    const run = this.runs.get(runDir);
    if (run === undefined) return this.removeRun(runDir);
    run.containerExited = true;
    run.chain = run.chain.then(() => this.removeIfDone(runDir));
    return run.chain;
  }

  /** Resolves once every write asked for so far is done (for stop and tests). */
  async flushed(): Promise<void> {
    await Promise.all([this.agentWrite, ...[...this.runs.values()].map((r) => r.chain)]);
  }

  private run(runDir: string): RunState {
    let run = this.runs.get(runDir);
    if (run === undefined) {
      run = { streams: new Map(), containerExited: false, chain: Promise.resolve() };
      this.runs.set(runDir, run);
    }
    return run;
  }

  private async removeIfDone(runDir: string): Promise<void> {
    const run = this.runs.get(runDir);
    if (run === undefined || !run.containerExited) return;
    for (const records of run.streams.values()) {
      const stream = replayUpdates(records);
      if ('error' in stream || !stream.closed) return;
    }
    await this.removeRun(runDir);
    // Only now: flushed() waits for the removal while the run is listed.
    this.runs.delete(runDir);
  }

  /** Removes a run's directory, and its executor's when no other run is left in it. */
  private async removeRun(runDir: string): Promise<void> {
    const runsDir = dirname(runDir);
    const executorDir = dirname(runsDir);
    try {
      await rm(runDir, { recursive: true, force: true });
      for (const key of [...this.written.keys()]) if (key.startsWith(`${runDir}/`) || key.startsWith(`${runDir}:`)) this.written.delete(key);
      const others = (await readdir(runsDir).catch(() => [] as string[])).filter((name) => name !== 'latest');
      if (others.length > 0) return;
      await rm(executorDir, { recursive: true, force: true });
      for (const key of [...this.written.keys()]) if (key.startsWith(`${executorDir}/`)) this.written.delete(key);
    } catch (err) {
      this.logger.warn({ error: (err as Error).message, runDir }, 'cannot remove a finished run');
    }
  }
}

/** Points `link` at `target` atomically: a new link under a temp name, renamed over the old one. */
export async function replaceSymlink(link: string, target: string): Promise<void> {
  await mkdir(dirname(link), { recursive: true });
  const temp = `${link}.${process.pid}.${Date.now()}.tmp`;
  await rm(temp, { force: true });
  await symlink(target, temp);
  await rename(temp, link);
}

/** The ExecutorInfo Mesos generates for a command task: its executor is named after the task. */
function commandExecutorInfo(c: TaskCheckpoint): ExecutorInfo {
  return {
    executor_id: { value: c.executorId },
    framework_id: { value: c.frameworkId },
    name: `Command Executor (Task: ${c.task.task_id.value})`,
    source: c.task.task_id.value,
    ...(c.task.command === undefined ? {} : { command: c.task.command }),
  } as ExecutorInfo;
}

function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
