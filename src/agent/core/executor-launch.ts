/**
 * What a custom or default executor's container runs (facts 2.1, 8.5): its command (the
 * framework's, or agora's default executor), the Mesos executor environment, its resources.
 * Pure; the agent core plans with it, the shell runs the plan.
 */
import type { ExecutorInfo, FrameworkInfo, TaskInfo, Volume } from '../../api/index.js';
import { containerResources, HOST_DEFAULT_PATH, type LaunchContext } from './command-executor.js';
import type { ContainerLaunch } from './effects.js';

/** Mesos's --recovery_timeout and --executor_reregistration_timeout defaults (facts 2.1). */
export const RECOVERY_TIMEOUT_MS = 15 * 60_000;
export const SUBSCRIPTION_BACKOFF_MAX_MS = 2_000;

export interface ExecutorLaunchContext extends LaunchContext {
  /** How this agent runs its default executor; absent: task groups cannot run here. */
  defaultExecutorCommand?: ContainerLaunch['command'];
  /**
   * Volumes the default executor's container also gets: agora's install, which an OCI container
   * (the host's directories, but its own /tmp) may not otherwise see.
   */
  defaultExecutorVolumes?: Volume[];
}

/** The executor's shutdown grace period: its own, else the agent's --executor_shutdown_grace_period. */
export function executorShutdownGraceMs(info: ExecutorInfo, agentDefaultMs: number): number {
  const ns = info.shutdown_grace_period?.nanoseconds;
  return ns === undefined ? agentDefaultMs : Math.max(0, ns / 1e6);
}

/**
 * The container of a custom or default executor, or why this agent cannot start it. A custom
 * executor's container is limited to its own resources plus those of the tasks it starts with
 * (it runs them inside itself). The default executor's container gets cpus only: its tasks run
 * in nested containers with their own limits, its sandbox holds theirs (so its own disk would
 * count theirs), and agora's default executor is a Node process whose footprint does not fit
 * Mesos's 32 MB minimum. Its resources are accounted for all the same (docs/decisions/0007).
 */
export function planExecutor(info: ExecutorInfo, tasks: readonly TaskInfo[], ctx: ExecutorLaunchContext): ContainerLaunch | { error: string } {
  const isDefault = info.type === 'DEFAULT';
  let command: ContainerLaunch['command'];
  if (isDefault) {
    if (ctx.defaultExecutorCommand === undefined) return { error: 'This agent has no default executor to run task groups with' };
    command = ctx.defaultExecutorCommand;
  } else {
    const given = info.command;
    if (given === undefined || ((given.value ?? '') === '' && (given.arguments ?? []).length === 0)) {
      return { error: "'ExecutorInfo.command' is missing: a custom executor needs the command that starts it" };
    }
    if ((given.uris ?? []).length > 0) {
      return { error: 'CommandInfo.uris (the fetcher) is not supported by this agent yet; put the executor in place another way' };
    }
    const value = given.value ?? '';
    const argv = given.arguments ?? [];
    command = (given.shell ?? true) ? { shell: true, value } : { shell: false, value, argv: argv.length > 0 ? argv : [value] };
  }
  const secret = (info.command?.environment?.variables ?? []).find((v) => v.type === 'SECRET');
  if (secret !== undefined) return { error: `Environment variable '${secret.name}' is a SECRET, which this agent cannot resolve yet` };
  const limits = containerResources({ resources: (isDefault ? [info] : [info, ...tasks]).flatMap((r) => r.resources ?? []) });
  return {
    containerId: ctx.containerId,
    frameworkId: ctx.frameworkId,
    executorId: info.executor_id.value,
    directory: ctx.directory,
    metaDirectory: ctx.metaDirectory,
    command,
    env: executorEnvironment(info, ctx),
    resources: isDefault ? (limits.cpus === undefined ? {} : { cpus: limits.cpus }) : limits,
    ...containerOf(info, isDefault ? (ctx.defaultExecutorVolumes ?? []) : []),
    ...userOf(info, ctx.frameworkInfo),
  };
}

/** ExecutorInfo.container with the agent's own volumes added (for the default executor). */
function containerOf(info: ExecutorInfo, volumes: Volume[]): Pick<ContainerLaunch, 'container' | 'commandEnv'> {
  if (info.container === undefined && volumes.length === 0) return {};
  // ContainerInfo is opaque here (the containerizer validates it); only its volumes are extended.
  const given = (info.container ?? { type: 'MESOS' }) as { volumes?: unknown };
  const container = volumes.length === 0 ? given : { ...given, volumes: [...(Array.isArray(given.volumes) ? given.volumes : []), ...volumes] };
  return { container, commandEnv: commandEnvironment(info) };
}

/**
 * The environment of an executor (facts 2.1): what it needs to find its agent and itself; the
 * agent's own environment is not inherited, and CommandInfo.environment comes last and wins.
 */
export function executorEnvironment(info: ExecutorInfo, ctx: LaunchContext): Record<string, string> {
  const checkpoint = ctx.frameworkInfo.checkpoint === true;
  const env: Record<string, string> = {
    PATH: HOST_DEFAULT_PATH,
    HOME: ctx.directory,
    MESOS_FRAMEWORK_ID: ctx.frameworkId,
    MESOS_EXECUTOR_ID: info.executor_id.value,
    MESOS_CONTAINER_ID: ctx.containerId,
    MESOS_AGENT_ENDPOINT: ctx.endpoint,
    MESOS_DIRECTORY: ctx.directory,
    MESOS_SANDBOX: ctx.directory,
    MESOS_CHECKPOINT: checkpoint ? '1' : '0',
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: formatSecs(executorShutdownGraceMs(info, ctx.executorShutdownGracePeriodMs)),
    MESOS_SLAVE_ID: ctx.agentId,
    MESOS_SLAVE_PID: `slave(1)@${ctx.endpoint}`,
    MESOS_HTTP_COMMAND_EXECUTOR: '0',
    LIBPROCESS_PORT: '0',
    ...(checkpoint
      ? { MESOS_RECOVERY_TIMEOUT: formatSecs(RECOVERY_TIMEOUT_MS), MESOS_SUBSCRIPTION_BACKOFF_MAX: formatSecs(SUBSCRIPTION_BACKOFF_MAX_MS) }
      : {}),
  };
  Object.assign(env, commandEnvironment(info));
  return env;
}

function commandEnvironment(info: ExecutorInfo): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of info.command?.environment?.variables ?? []) env[variable.name] = variable.value ?? '';
  return env;
}

function userOf(info: ExecutorInfo, framework: FrameworkInfo): { user?: string } {
  const user = info.command?.user ?? framework.user;
  return user === '' ? {} : { user };
}

function formatSecs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}secs` : `${ms}ms`;
}
