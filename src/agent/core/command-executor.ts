/**
 * Mesos's command executor, as rules: what a command task runs, in which environment, and
 * which terminal state its exit means. Pure; the agent core applies these, the shell runs them.
 */
import type { FrameworkInfo, TaskInfo, TaskState, TaskStatusReason } from '../../api/index.js';
import { invalidTaskChecks } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import type { ContainerExit, ContainerLaunch, ContainerLimitation, ContainerResources } from './effects.js';

/** Mesos's os::host_default_path(): PATH for tasks whose environment does not set one. */
export const HOST_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The kill grace period of the built-in executors when no KillPolicy says otherwise (facts 8.7). */
export const DEFAULT_KILL_GRACE_PERIOD_MS = 3_000;

export interface LaunchContext {
  agentId: string;
  frameworkId: string;
  frameworkInfo: FrameworkInfo;
  containerId: string;
  directory: string;
  metaDirectory: string;
  /** The agent's "ip:port", for MESOS_AGENT_ENDPOINT and MESOS_SLAVE_PID. */
  endpoint: string;
  executorShutdownGracePeriodMs: number;
}

/**
 * The container that runs `task`, or the reason this agent cannot run it (an expected refusal:
 * the task then fails with REASON_CONTAINER_LAUNCH_FAILED and this message).
 */
export function planCommandTask(task: TaskInfo, ctx: LaunchContext): ContainerLaunch | { error: string } {
  if (task.executor !== undefined) {
    return { error: 'Tasks with a custom executor (TaskInfo.executor) are not supported by this agent yet; use TaskInfo.command' };
  }
  const command = task.command;
  if (command === undefined) return { error: 'The task has neither a command nor an executor' };
  if ((command.uris ?? []).length > 0) {
    return { error: 'CommandInfo.uris (the fetcher) is not supported by this agent yet; put the files in place another way' };
  }
  const value = command.value ?? '';
  // With shell=false an image's Entrypoint/Cmd may stand in for the value (facts 8.2 docker/runtime).
  const imageCommand = command.shell === false && hasImage(task.container);
  if (value === '' && !imageCommand) return { error: 'CommandInfo.value is missing: it is the shell command, or the executable with shell=false' };
  const invalidChecks = invalidTaskChecks(task);
  if (invalidChecks !== undefined) return { error: invalidChecks };
  const secret = (command.environment?.variables ?? []).find((v) => v.type === 'SECRET');
  if (secret !== undefined) return { error: `Environment variable '${secret.name}' is a SECRET, which this agent cannot resolve yet` };

  const shell = command.shell ?? true;
  const argv = command.arguments ?? [];
  return {
    containerId: ctx.containerId,
    frameworkId: ctx.frameworkId,
    executorId: task.task_id.value,
    directory: ctx.directory,
    metaDirectory: ctx.metaDirectory,
    command: shell ? { shell: true, value } : { shell: false, value, argv: argv.length > 0 || value === '' ? argv : [value] },
    env: taskEnvironment(task, ctx),
    resources: containerResources(task),
    ...(task.container === undefined ? {} : { container: task.container, commandEnv: commandEnvironment(task) }),
    ...userOf(task, ctx.frameworkInfo),
  };
}

function hasImage(container: unknown): boolean {
  return typeof container === 'object' && container !== null && (container as { mesos?: { image?: unknown } }).mesos?.image !== undefined;
}

function commandEnvironment(task: TaskInfo): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of task.command?.environment?.variables ?? []) env[variable.name] = variable.value ?? '';
  return env;
}

/** The limits of a task's container: its cpus, mem and disk scalars; absent or zero is no limit. */
export function containerResources(task: Pick<TaskInfo, 'resources'>): ContainerResources {
  const parsed = Resources.tryFromWire(task.resources ?? []);
  if ('error' in parsed) return {};
  const out: ContainerResources = {};
  const cpus = parsed.scalar('cpus');
  const memMb = parsed.scalar('mem');
  const diskMb = parsed.scalar('disk');
  if (cpus > 0) out.cpus = cpus;
  if (memMb > 0) out.memMb = memMb;
  if (diskMb > 0) out.diskMb = diskMb;
  return out;
}

/**
 * The environment of a command task (facts 2.1). It does not inherit the agent's own; the task's
 * CommandInfo.environment comes last and wins. HOME is the sandbox: always present and writable
 * by the task's user, where a home directory from the user database may be missing or shared.
 */
export function taskEnvironment(task: TaskInfo, ctx: LaunchContext): Record<string, string> {
  const env: Record<string, string> = {
    PATH: HOST_DEFAULT_PATH,
    HOME: ctx.directory,
    MESOS_SANDBOX: ctx.directory,
    MESOS_DIRECTORY: ctx.directory,
    MESOS_TASK_ID: task.task_id.value,
    MESOS_FRAMEWORK_ID: ctx.frameworkId,
    MESOS_EXECUTOR_ID: task.task_id.value,
    MESOS_CONTAINER_ID: ctx.containerId,
    MESOS_AGENT_ENDPOINT: ctx.endpoint,
    MESOS_SLAVE_ID: ctx.agentId,
    MESOS_SLAVE_PID: `slave(1)@${ctx.endpoint}`,
    MESOS_CHECKPOINT: ctx.frameworkInfo.checkpoint === true ? '1' : '0',
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: formatSecs(ctx.executorShutdownGracePeriodMs),
    MESOS_HTTP_COMMAND_EXECUTOR: '0',
  };
  for (const variable of task.command?.environment?.variables ?? []) env[variable.name] = variable.value ?? '';
  return env;
}

function userOf(task: TaskInfo, framework: FrameworkInfo): { user?: string } {
  const user = task.command?.user ?? framework.user;
  return user === '' ? {} : { user };
}

function formatSecs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}secs` : `${ms}ms`;
}

/**
 * Whether an (opaque) ContainerInfo names a CNI network: such a container has no address until
 * its networks are attached, and never the agent's (facts 8.3; unnamed entries mean the host's).
 */
export function namesNetwork(container: unknown): boolean {
  if (typeof container !== 'object' || container === null) return false;
  const infos = (container as { network_infos?: unknown }).network_infos;
  if (!Array.isArray(infos)) return false;
  return infos.some((info: unknown) => {
    const name = typeof info === 'object' && info !== null ? (info as { name?: unknown }).name : undefined;
    return typeof name === 'string' && name !== '';
  });
}

/** Why the agent is killing a container; it decides the terminal state. */
export type KillCause = 'killTask' | 'maxCompletion' | 'shutdown' | 'limitation' | 'healthCheck';

/** The terminal update for a command task whose process ended (Mesos's command executor). */
export function terminalStatusFor(
  exit: ContainerExit,
  killCause: KillCause | undefined,
  maxCompletionMs: number | undefined,
  limitation?: ContainerLimitation,
): { state: TaskState; message: string; reason?: TaskStatusReason; limitation?: ContainerLimitation; healthy?: boolean } {
  const message = `Command ${exit.description}`;
  // A limit that struck first decides, unless the framework had already asked for the kill.
  const limit = limitation ?? exit.limitation;
  if (limit !== undefined && killCause !== 'killTask' && killCause !== 'shutdown') {
    return { state: 'TASK_FAILED', reason: limit.reason, message: limit.message, limitation: limit };
  }
  if (killCause === 'maxCompletion') {
    return {
      state: 'TASK_FAILED',
      reason: 'REASON_MAX_COMPLETION_TIME_REACHED',
      message: `Task reached its max completion time of ${formatSecs(maxCompletionMs ?? 0)}; ${message}`,
    };
  }
  // As Mesos's command executor: a task killed for failing its health check ends unhealthy.
  if (killCause === 'healthCheck') return { state: 'TASK_KILLED', message: `Task killed after failing its health check; ${message}`, healthy: false };
  // A task that was asked to die is KILLED however it ended: the framework asked for exactly that.
  if (killCause !== undefined) return { state: 'TASK_KILLED', message };
  if (exit.code === 0) return { state: 'TASK_FINISHED', message };
  return { state: 'TASK_FAILED', message };
}
