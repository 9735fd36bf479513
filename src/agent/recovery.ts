/**
 * Agent recovery's shell (facts 7.2): reads the previous agent's checkpoint, refuses a restart
 * its reconfiguration policy does not allow, reattaches to the containers that survived, kills
 * the orphans, and hands the core a `recover` input. The core decides what each task becomes.
 */
import { readFile, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type AgentInfo, isTerminalState, type TaskInfo } from '../api/index.js';
import { AgoraError } from '../base/index.js';
import { type Container, type Containerizer, describeExit, type ExitStatus } from '../containerizer/index.js';
import { type CheckpointedAgent, readCheckpoint } from './checkpoint/reader.js';
import { metaPaths } from './checkpoint/layout.js';
import { type ReconfigurationPolicy, reconfigurationChanges, reconfigurationRefusal } from './checkpoint/reconfiguration.js';
import type { CheckpointWriter } from './checkpoint/writer.js';
import { type ContainerExit, containerResources, executorRunPath, type RecoveredRun, type RecoveryInput } from './core/index.js';

export interface RecoveryOptions {
  workDir: string;
  containerizer: Containerizer;
  writer: CheckpointWriter;
  /** The agent as it starts now (its id aside), to compare with the checkpointed one. */
  current: AgentInfo;
  policy: ReconfigurationPolicy;
  /** `--strict`: a checkpoint file that cannot be read stops the agent, else it is skipped. */
  strict: boolean;
  logger: Logger;
}

/** A container that survived its agent, for the runtime to watch as if it had launched it. */
export interface AdoptedContainer {
  container: Container;
  frameworkId: string;
  executorId: string;
  metaDirectory: string;
}

export interface RecoveryResult {
  /** The core's `recover` input; undefined when there was nothing to recover. */
  input?: RecoveryInput;
  adopted: AdoptedContainer[];
}

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

export async function recoverAgent(options: RecoveryOptions): Promise<RecoveryResult> {
  const { workDir, containerizer, writer, logger } = options;
  const startedMs = Date.now();
  const bootId = (await readFile(BOOT_ID_PATH, 'utf8').catch(() => '')).trim();
  let checkpoint: CheckpointedAgent | undefined;
  try {
    checkpoint = await readCheckpoint(workDir);
  } catch (err) {
    if (options.strict) throw unreadable([(err as Error).message], workDir);
    logger.warn({ error: (err as Error).message }, 'cannot read the checkpoint (--strict=false): starting as a new agent');
  }
  if (checkpoint !== undefined && checkpoint.errors.length > 0) {
    if (options.strict) throw unreadable(checkpoint.errors, workDir);
    logger.warn({ errors: checkpoint.errors }, 'skipping checkpoint files that cannot be read (--strict=false)');
  }
  if (checkpoint === undefined) {
    const removed = await containerizer.cleanupOrphans(new Set());
    if (removed.length > 0) logger.warn({ containers: removed }, 'removed containers a previous agent left without a checkpoint');
    if (bootId !== '') await writer.bootId(bootId);
    return { adopted: [] };
  }
  const changes = reconfigurationChanges(checkpoint.info, options.current, options.policy);
  if (changes.length > 0) throw new AgoraError('AGORA_ERR_VALIDATION', reconfigurationRefusal(checkpoint.agentId, metaPaths.latestAgent(workDir), changes));

  // After a reboot no process of the previous agent's life is left (Mesos: no executor recovery).
  const rebooted = checkpoint.bootId !== undefined && bootId !== '' && checkpoint.bootId !== bootId;
  if (rebooted) logger.warn('the host rebooted since the checkpoint: no container survived');
  const frameworkInfos = new Map(checkpoint.frameworks.map((f) => [f.id, f.info]));
  const runs: RecoveredRun[] = [];
  const adopted: AdoptedContainer[] = [];
  for (const run of checkpoint.runs) {
    const tasks = run.tasks.map((t) => ({ info: t.info, statuses: t.stream.statuses, pending: t.stream.pending }));
    for (const task of run.tasks) writer.restore(run.runDir, task.info.task_id.value, task.records);
    const base = { frameworkId: run.frameworkId, executorId: run.executorId, containerId: run.containerId, tasks };
    if (run.executorInfo !== undefined) {
      runs.push({ ...base, executorInfo: run.executorInfo, container: { kind: 'destroyed' } });
      continue;
    }
    const task = run.tasks.find((t) => t.info.task_id.value === run.executorId);
    const state = task?.stream.state;
    // A task whose end was reported keeps no container: one still there is an orphan.
    if (task === undefined || (state !== undefined && isTerminalState(state)) || rebooted) {
      runs.push({ ...base, container: { kind: 'gone' } });
      continue;
    }
    const user = userOf(task.info, frameworkInfos.get(run.frameworkId)?.user);
    const directory = executorRunPath(workDir, checkpoint.agentId, run.frameworkId, run.executorId, run.containerId);
    const found = await containerizer.recover({ containerId: run.containerId, directory, resources: containerResources(task.info), ...(user === undefined ? {} : { user }) });
    if (found.kind === 'running') {
      adopted.push({ container: found.container, frameworkId: run.frameworkId, executorId: run.executorId, metaDirectory: run.runDir });
      runs.push({ ...base, container: { kind: 'running', pid: found.container.pid } });
    } else if (found.kind === 'exited') {
      runs.push({ ...base, container: { kind: 'exited', exit: containerExit(found.status) } });
    } else {
      runs.push({ ...base, container: { kind: 'gone' } });
    }
  }
  const keep = new Set(adopted.map((a) => a.container.containerId));
  const removed = await containerizer.cleanupOrphans(keep);
  if (removed.length > 0) logger.warn({ containers: removed }, 'killed containers that could not be recovered (frameworks without checkpoint, executors, ended tasks)');
  await gcFinishedRuns(checkpoint);
  for (const path of checkpoint.uncheckpointed) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  if (bootId !== '') await writer.bootId(bootId);
  logger.info(
    { agentId: checkpoint.agentId, running: adopted.length, runs: runs.length, frameworks: checkpoint.frameworks.length, durationMs: Date.now() - startedMs },
    'recovered the checkpointed agent',
  );
  return { input: { agentId: checkpoint.agentId, frameworks: checkpoint.frameworks, runs }, adopted };
}

/** The exit as the core words it (the runtime does the same for containers it watched). */
export function containerExit(exit: ExitStatus): ContainerExit {
  const { code, signal, limitation } = exit;
  return {
    description: describeExit(exit),
    ...(code === undefined ? {} : { code }),
    ...(signal === undefined ? {} : { signal }),
    ...(limitation === undefined ? {} : { limitation }),
  };
}

/** Runs whose every task was over and acknowledged before the agent died: nothing refers to them. */
async function gcFinishedRuns(checkpoint: CheckpointedAgent): Promise<void> {
  for (const run of checkpoint.runs) {
    if (run.tasks.every((t) => t.stream.closed)) await rm(run.runDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function userOf(task: TaskInfo, frameworkUser: string | undefined): string | undefined {
  const user = task.command?.user ?? frameworkUser;
  return user === '' ? undefined : user;
}

function unreadable(errors: string[], workDir: string): AgoraError {
  return new AgoraError(
    'AGORA_ERR_VALIDATION',
    `the agent's checkpoint cannot be recovered: ${errors.join('; ')}. Start the agent with --strict=false to recover what can be read, ` +
      `or remove ${metaPaths.latestAgent(workDir)} to start as a new agent (its tasks will be killed)`,
  );
}
