/**
 * Reads what a previous agent checkpointed under `<work_dir>/meta` (layout.ts): its id and
 * AgentInfo, the frameworks, and per executor run its tasks and their update streams. What
 * cannot be read is returned as an error naming the file, for --strict to decide on.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo } from '../../api/index.js';
import type { z } from 'zod';
import { LATEST, metaPaths, parseUpdates, replayUpdates, type TaskStream, type UpdateRecord } from './layout.js';

export interface CheckpointedTask {
  info: TaskInfo;
  records: UpdateRecord[];
  stream: TaskStream;
}

export interface CheckpointedRun {
  frameworkId: string;
  executorId: string;
  containerId: string;
  runDir: string;
  /** Set for custom and default executors (http.marker). */
  executorInfo?: ExecutorInfo;
  tasks: CheckpointedTask[];
}

export interface CheckpointedAgent {
  agentId: string;
  info: AgentInfo;
  /** The boot id it ran under; undefined when it wrote none. */
  bootId: string | undefined;
  frameworks: Array<{ id: string; info: FrameworkInfo }>;
  runs: CheckpointedRun[];
  /** Files that could not be used, with why. */
  errors: string[];
  /** Directories of frameworks that do not checkpoint (only pid files): to be removed. */
  uncheckpointed: string[];
}

/** The previous agent's checkpoint, or undefined when there is none (`meta/slaves/latest` is absent). */
export async function readCheckpoint(workDir: string): Promise<CheckpointedAgent | undefined> {
  const agentId = await readlink(metaPaths.latestAgent(workDir)).catch(() => undefined);
  if (agentId === undefined) return undefined;
  const errors: string[] = [];
  const infoPath = metaPaths.agentInfo(workDir, agentId);
  const info = await readJson(infoPath, AgentInfo, errors);
  if (info === undefined) throw new Error(`the checkpointed agent ${agentId} has no readable ${infoPath}: ${errors.join('; ')}`);
  const bootId = (await readFile(metaPaths.bootId(workDir), 'utf8').catch(() => '')).trim() || undefined;
  const frameworks: CheckpointedAgent['frameworks'] = [];
  const runs: CheckpointedRun[] = [];
  const uncheckpointed: string[] = [];
  for (const frameworkId of await directories(metaPaths.frameworks(workDir, agentId))) {
    const infoPath = metaPaths.frameworkInfo(workDir, agentId, frameworkId);
    if (!(await exists(infoPath))) {
      uncheckpointed.push(metaPaths.framework(workDir, agentId, frameworkId));
      continue;
    }
    const frameworkInfo = await readJson(infoPath, FrameworkInfo, errors);
    if (frameworkInfo === undefined) continue;
    frameworks.push({ id: frameworkId, info: frameworkInfo });
    for (const executorId of await directories(`${metaPaths.framework(workDir, agentId, frameworkId)}/executors`)) {
      const runsDir = metaPaths.runs(workDir, agentId, frameworkId, executorId);
      for (const containerId of (await directories(runsDir)).filter((d) => d !== LATEST)) {
        const runDir = metaPaths.run(workDir, agentId, frameworkId, executorId, containerId);
        const run = await readRun(runDir, { frameworkId, executorId, containerId }, errors);
        if (run === undefined) continue;
        if (await exists(metaPaths.httpMarker(runDir))) {
          const executorInfo = await readJson(metaPaths.executorInfo(workDir, agentId, frameworkId, executorId), ExecutorInfo, errors);
          if (executorInfo === undefined) continue;
          run.executorInfo = executorInfo;
        }
        runs.push(run);
      }
    }
  }
  return { agentId, info, bootId, frameworks, runs, errors, uncheckpointed };
}

async function readRun(
  runDir: string,
  ids: { frameworkId: string; executorId: string; containerId: string },
  errors: string[],
): Promise<CheckpointedRun | undefined> {
  const tasks: CheckpointedTask[] = [];
  for (const taskId of await directories(metaPaths.tasks(runDir))) {
    // The agent died after making the task's directory but before its TaskInfo was renamed into
    // place (its first checkpoint): there is nothing of it to recover, as Mesos's recovery warns
    // and goes on. Its container, if it was launched, is not recovered, so it is killed.
    if (!(await exists(metaPaths.taskInfo(runDir, taskId)))) continue;
    const info = await readJson(metaPaths.taskInfo(runDir, taskId), TaskInfo, errors);
    if (info === undefined) continue;
    const path = metaPaths.taskUpdates(runDir, taskId);
    const parsed = parseUpdates(await readFile(path, 'utf8').catch(() => ''));
    if ('error' in parsed) {
      errors.push(`${path}: ${parsed.error}`);
      continue;
    }
    const stream = replayUpdates(parsed.records);
    if ('error' in stream) {
      errors.push(`${path}: ${stream.error}`);
      continue;
    }
    tasks.push({ info, records: parsed.records, stream });
  }
  // A run without tasks was launched without a checkpointed update (it never got one): nothing to recover.
  return tasks.length === 0 ? undefined : { ...ids, runDir, tasks };
}

async function readJson<T extends z.ZodTypeAny>(path: string, schema: T, errors: string[]): Promise<z.infer<T> | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    errors.push(`${path}: ${(err as Error).message}`);
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    errors.push(`${path}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    return undefined;
  }
  return parsed.data as z.infer<T>;
}

async function directories(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}
