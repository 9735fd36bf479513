/**
 * `agora execute`: the counterpart of `mesos-execute` (facts 12.4). Subscribes as a framework,
 * launches one task (or, with --group, a task group under the default executor) on the first
 * offer that holds it, prints every state change, and exits with the task's exit status (a
 * group's: 0 only when every task finished). Uses only the v1 Scheduler API, as any framework would.
 */
import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  type ExecutorInfo,
  FRAMEWORK_CAPABILITIES,
  TaskInfo,
  decodeOrThrow,
  isTerminalState,
  type FrameworkInfo,
  type Offer,
  type Resource,
  type TaskStatus,
} from '../api/index.js';
import { AgoraError, formatDuration } from '../base/index.js';
import {
  parseBool,
  parseDuration,
  parseMasterFlag,
  parseNonEmpty,
  readJsonFlag,
} from './flags.js';
import { formatResources, parseResourceSpec, shortfall } from './resources-spec.js';
import { SchedulerCallError, SchedulerClient, exitCodeFromMessage, freshTaskId } from './scheduler-client.js';

export interface ExecuteOptions {
  master: string;
  name: string;
  command?: string;
  shell: boolean;
  resources: Resource[];
  env?: Record<string, string>;
  role: string;
  checkpoint: boolean;
  frameworkCapabilities: string[];
  partitionAware: boolean;
  killAfterMs?: number;
  task?: unknown;
  /** A TaskGroupInfo (JSON): launched with LAUNCH_GROUP under the default executor. */
  group?: unknown;
  /** The default executor's resources for --group. */
  executorResources: Resource[];
  offerTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Where `agora execute` writes; tests may capture it. */
export interface ExecuteOutput {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: ExecuteOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Filters for offers we do not use: short, so they come back soon if the task still waits. */
const SHORT_REFUSE_SECONDS = 1;

/** mesos-execute's resources for the default executor of a --task_group. */
const DEFAULT_EXECUTOR_RESOURCES = 'cpus:0.1;mem:32;disk:32';
/** The default executor's id, as mesos-execute names it. */
const DEFAULT_EXECUTOR_ID = 'default-executor';

export function executeCommand(): Command {
  return new Command('execute')
    .description('Run one task on the cluster and exit with its exit status (like mesos-execute).')
    .requiredOption('--master <host:port>', 'the master to subscribe to, or etcd://HOST:PORT[,...] to find the leader', parseMasterFlag('--master'))
    .option('--name <name>', 'task and framework name', parseNonEmpty('--name'), 'agora-execute')
    .option('--command <command>', 'command to run (with /bin/sh -c unless --shell=false)')
    .addOption(
      new Option('--shell [bool]', 'run --command through /bin/sh -c; false splits it into argv')
        .argParser(parseBool('--shell'))
        .default(true),
    )
    .addOption(
      new Option('--resources <resources>', 'resources the task needs')
        .argParser(parseResourcesFlag)
        .default(parseResourcesFlag('cpus:1;mem:128'), '"cpus:1;mem:128"'),
    )
    .option('--env <json>', 'environment, JSON {"NAME":"value"} or a file holding it', parseEnvFlag)
    .option('--role <role>', 'role to subscribe with', '*')
    .addOption(
      new Option('--checkpoint [bool]', 'ask agents to checkpoint the task').argParser(parseBool('--checkpoint')).default(false),
    )
    .option(
      '--framework-capabilities <caps>',
      'extra framework capabilities, comma separated or JSON {"capabilities":[{"type":...}]}',
      parseCapabilitiesFlag,
    )
    .addOption(
      new Option('--partition-aware [bool]', 'subscribe with the PARTITION_AWARE capability')
        .argParser(parseBool('--partition_aware'))
        .default(true),
    )
    .option('--kill-after <duration>', 'kill the task this long after it is running (e.g. 10secs)', parseDuration('--kill_after'))
    .option('--task <json>', 'a TaskInfo as JSON or a file holding it (agent_id may be empty)', (t: string) =>
      readJsonFlag('--task', t),
    )
    .option(
      '--group <json>',
      'a TaskGroupInfo ({"tasks":[TaskInfo, ...]}) as JSON or a file holding it: its tasks start together under the default executor (LAUNCH_GROUP); agent_id may be empty',
      (t: string) => readJsonFlag('--group', t),
    )
    .addOption(
      new Option('--task-group <json>', "mesos-execute's name for --group")
        .argParser((t: string) => readJsonFlag('--task_group', t))
        .hideHelp(),
    )
    .addOption(
      new Option('--executor-resources <resources>', "the default executor's own resources, for --group")
        .argParser(parseResourcesFlag)
        .default(parseResourcesFlag(DEFAULT_EXECUTOR_RESOURCES), `"${DEFAULT_EXECUTOR_RESOURCES}"`),
    )
    .addOption(
      new Option('--offer-timeout <duration>', 'give up (and say why) when no offer holds the task this long')
        .argParser(parseDuration('--offer_timeout'))
        .default(60_000, '60secs'),
    )
    .addOption(
      new Option('--connect-timeout <duration>', 'how long to keep trying to reach the master')
        .argParser(parseDuration('--connect_timeout'))
        .default(10_000, '10secs'),
    )
    .addHelpText(
      'after',
      `
Exit status: 0 for TASK_FINISHED; the command's own status for TASK_FAILED ("Command exited
with status N"); 128+signal when it was killed by a signal; 1 otherwise. With --group: 0 when
every task finished, else the status of the first task that did not.

Examples:
  agora execute --master 127.0.0.1:5050 --name hello --command 'echo hello from agora' --resources 'cpus:0.1;mem:32'
  agora execute --master 127.0.0.1:5050 --group group.json
    with group.json: {"tasks": [{"name": "web", "command": {"value": "sleep 60"}, "resources": [...]}, ...]}`,
    );
}

function parseResourcesFlag(text: string): Resource[] {
  const parsed = parseResourceSpec(text);
  if ('error' in parsed) throw new InvalidArgumentError(`--resources: ${parsed.error}`);
  return parsed;
}

function parseEnvFlag(text: string): Record<string, string> {
  const value = readJsonFlag('--env', text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('--env: expected a JSON object {"NAME":"value"}');
  }
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new InvalidArgumentError(`--env: the value of "${name}" must be a string`);
    env[name] = v;
  }
  return env;
}

function parseCapabilitiesFlag(text: string): string[] {
  let names: string[];
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const value = readJsonFlag('--framework_capabilities', trimmed) as unknown;
    const list = Array.isArray(value) ? value : (value as { capabilities?: unknown }).capabilities;
    if (!Array.isArray(list)) throw new InvalidArgumentError('--framework_capabilities: expected {"capabilities":[{"type":"NAME"}]}');
    names = list.map((c: unknown) => (typeof c === 'string' ? c : String((c as { type?: unknown }).type)));
  } else {
    names = trimmed.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }
  const known = new Set<string>(FRAMEWORK_CAPABILITIES);
  for (const name of names) {
    if (!known.has(name)) {
      throw new InvalidArgumentError(
        `--framework_capabilities: "${name}" is not a capability; use ${FRAMEWORK_CAPABILITIES.filter((c) => c !== 'UNKNOWN').join(', ')}`,
      );
    }
  }
  return names;
}

/** A TaskInfo from JSON, with a name, a fresh task id and an empty agent id where they are missing. */
function taskFromJson(value: unknown, flag: string, defaultName: string): TaskInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `${flag}: expected a JSON object (a TaskInfo)`);
  }
  const raw = { ...(value as Record<string, unknown>) };
  raw['name'] ??= defaultName;
  raw['task_id'] ??= { value: freshTaskId(String(raw['name'])) };
  raw['agent_id'] ??= { value: '' };
  try {
    return decodeOrThrow(TaskInfo, raw, 'TaskInfo');
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `${flag}: ${(err as Error).message}`);
  }
}

/** The tasks of --group (a TaskGroupInfo), with their defaults filled in. */
export function buildGroup(options: ExecuteOptions): TaskInfo[] {
  const group = options.group as { tasks?: unknown } | undefined;
  if (typeof group !== 'object' || group === null || Array.isArray(group) || !Array.isArray(group.tasks) || group.tasks.length === 0) {
    throw new AgoraError('AGORA_ERR_VALIDATION', '--group: expected a JSON TaskGroupInfo with tasks, {"tasks":[{...}, ...]}');
  }
  const tasks = group.tasks.map((task, i) => taskFromJson(task, `--group: tasks[${i}]`, `${options.name}-${i}`));
  if (new Set(tasks.map((t) => t.task_id.value)).size !== tasks.length) {
    throw new AgoraError('AGORA_ERR_VALIDATION', '--group: two tasks have the same task_id; give each its own, or none');
  }
  return tasks;
}

/** The default executor of --group. */
export function groupExecutor(options: ExecuteOptions): ExecutorInfo {
  return { type: 'DEFAULT', executor_id: { value: DEFAULT_EXECUTOR_ID }, name: `${options.name} (default executor)`, resources: options.executorResources };
}

/** Builds the TaskInfo to launch (agent_id left empty: it is set from the offer). */
export function buildTask(options: ExecuteOptions): TaskInfo {
  if (options.task !== undefined) return taskFromJson(options.task, '--task', options.name);
  if (options.command === undefined) {
    throw new AgoraError('AGORA_ERR_VALIDATION', 'give the task as --command \'...\' or --task FILE_OR_JSON');
  }
  const environment =
    options.env === undefined
      ? undefined
      : { variables: Object.entries(options.env).map(([name, value]) => ({ name, type: 'VALUE' as const, value })) };
  const argv = options.command.trim().split(/\s+/);
  const command = options.shell
    ? { shell: true, value: options.command }
    : { shell: false, value: argv[0] ?? '', arguments: argv };
  return {
    name: options.name,
    task_id: { value: freshTaskId(options.name) },
    agent_id: { value: '' },
    resources: options.resources,
    command: { ...command, ...(environment && { environment }) },
  };
}

export function frameworkInfoFor(options: ExecuteOptions): FrameworkInfo {
  const capabilities = new Set<string>(['TASK_KILLING_STATE', ...options.frameworkCapabilities]);
  if (options.partitionAware) capabilities.add('PARTITION_AWARE');
  return {
    user: os.userInfo().username,
    name: options.name,
    hostname: os.hostname(),
    role: options.role,
    checkpoint: options.checkpoint,
    failover_timeout: 0,
    capabilities: [...capabilities].map((type) => ({ type: type as (typeof FRAMEWORK_CAPABILITIES)[number] })),
  };
}

/** Exit status for a terminal update, as the command's own would be where it can be told. */
export function exitStatusFor(status: TaskStatus): number {
  switch (status.state) {
    case 'TASK_FINISHED':
      return 0;
    case 'TASK_FAILED':
    case 'TASK_KILLED':
      return exitCodeFromMessage(status.message) ?? 1;
    default:
      return 1;
  }
}

/** Runs the task (or the group); resolves with the exit status to exit with. */
export async function runExecute(options: ExecuteOptions, output: ExecuteOutput = consoleOutput): Promise<number> {
  if (options.group !== undefined && (options.task !== undefined || options.command !== undefined)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', '--group launches the tasks of its TaskGroupInfo: give it alone, without --task or --command');
  }
  const group = options.group === undefined ? undefined : { tasks: buildGroup(options), executor: groupExecutor(options) };
  const tasks = group?.tasks ?? [buildTask(options)];
  const names = new Map(tasks.map((t) => [t.task_id.value, t.name]));
  const wanted: Resource[] = [...tasks.flatMap((t) => [...(t.resources ?? []), ...(t.executor?.resources ?? [])]), ...(group?.executor.resources ?? [])];
  const what = group === undefined ? `task '${tasks[0]!.name}' (id ${tasks[0]!.task_id.value})` : `task group of ${tasks.map((t) => `'${t.name}'`).join(', ')}`;
  const client = await subscribeWithRetry(options, output);
  output.out(`Subscribed with ID ${client.frameworkId}`);

  let launched = false;
  let finished = false;
  let interrupted = false;
  let killTimer: NodeJS.Timeout | undefined;
  let agentId: string | undefined;
  /** The terminal update of each task, as it arrives. */
  const terminal = new Map<string, TaskStatus>();
  const lastOffers = new Map<string, Offer>();
  let resolveExit!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));
  const offerTimer: NodeJS.Timeout = setTimeout(() => {
    if (launched) return;
    output.err(explainNoFit(options, wanted, [...lastOffers.values()]));
    finish(1);
  }, options.offerTimeoutMs);

  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    clearTimeout(offerTimer);
    clearTimeout(killTimer);
    resolveExit(code);
  };
  const warn = (what: string) => (err: unknown) => output.err(`agora execute: ${what}: ${(err as Error).message}`);

  // Killing one task of a group kills the group (its executor does it).
  const kill = (why: string) => {
    const target = tasks.find((t) => !terminal.has(t.task_id.value)) ?? tasks[0]!;
    output.out(`Killing ${group === undefined ? `task '${target.name}'` : 'the task group'} (${why})`);
    client.kill(target.task_id.value, agentId).catch(warn('KILL failed'));
  };

  client.on((event) => {
    if (finished) return;
    switch (event.type) {
      case 'OFFERS': {
        const offers = event.offers.offers;
        let chosen: Offer | undefined;
        for (const offer of offers) {
          lastOffers.set(offer.agent_id.value, offer);
          if (!launched && !interrupted && chosen === undefined && shortfall(wanted, offer.resources).length === 0) {
            chosen = offer;
          }
        }
        const rest = offers.filter((o) => o !== chosen).map((o) => o.id.value);
        if (rest.length > 0) client.decline(rest, { refuse_seconds: SHORT_REFUSE_SECONDS }).catch(warn('DECLINE failed'));
        if (chosen !== undefined) {
          launched = true;
          agentId = chosen.agent_id.value;
          clearTimeout(offerTimer);
          const offer = chosen;
          const onAgent = tasks.map((t) => ({ ...t, agent_id: offer.agent_id }));
          (group === undefined ? client.launch(offer, onAgent) : client.launchGroup(offer, group.executor, onAgent))
            .then(() => {
              output.out(`Submitted ${what} to agent '${offer.agent_id.value}' (${offer.hostname})`);
              return client.suppress().catch(() => undefined);
            })
            .catch((err: unknown) => {
              warn('ACCEPT failed')(err);
              finish(1);
            });
        }
        break;
      }
      case 'UPDATE': {
        const status = event.update.status;
        const name = names.get(status.task_id.value);
        if (name === undefined) break;
        printStatus(output, name, status);
        client.acknowledge(status).catch(warn('ACKNOWLEDGE failed'));
        if (status.state === 'TASK_RUNNING' && options.killAfterMs !== undefined && killTimer === undefined) {
          killTimer = setTimeout(() => kill(`--kill_after ${formatDuration(options.killAfterMs!)}`), options.killAfterMs);
        }
        if (isTerminalState(status.state) && !terminal.has(status.task_id.value)) terminal.set(status.task_id.value, status);
        if (terminal.size === tasks.length) finish(groupExitStatus(tasks, terminal));
        break;
      }
      case 'ERROR':
        output.err(`agora execute: the master sent ERROR: ${event.error.message}`);
        finish(1);
        break;
      case 'FAILURE':
        if (event.failure.agent_id?.value === agentId && event.failure.executor_id === undefined) {
          output.out(`Received FAILURE: agent '${agentId}' was lost`);
        } else if (event.failure.executor_id !== undefined && group !== undefined) {
          output.out(`Received FAILURE: executor '${event.failure.executor_id.value}' exited (status ${event.failure.status ?? 'unknown'})`);
        }
        break;
      default:
        break;
    }
  });

  void client.disconnected.then((d) => {
    if (finished) return;
    output.err(`agora execute: lost the subscription to the master at ${options.master} (${d.message})`);
    finish(1);
  });

  // Ctrl-C: kill the task (the group) and wait for its end; a second one exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted || !launched) {
      output.err(`agora execute: ${signal}, exiting`);
      finish(128 + (os.constants.signals[signal] ?? 2));
      return;
    }
    interrupted = true;
    kill(`received ${signal}; press Ctrl-C again to exit at once`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const code = await exitCode;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (client.isConnected) {
    // Bounded: a second Ctrl-C or a hung master must not keep us here.
    const teardown = client.teardown().catch(warn('TEARDOWN failed'));
    await Promise.race([teardown, new Promise((r) => setTimeout(r, interrupted ? 1000 : 5000).unref())]);
  }
  return code;
}

/** 0 when every task finished; else the exit status of the first task (in the group's order) that did not. */
export function groupExitStatus(tasks: readonly TaskInfo[], terminal: ReadonlyMap<string, TaskStatus>): number {
  for (const task of tasks) {
    const status = terminal.get(task.task_id.value);
    if (status !== undefined && status.state !== 'TASK_FINISHED') return exitStatusFor(status) || 1;
  }
  return 0;
}

async function subscribeWithRetry(options: ExecuteOptions, output: ExecuteOutput): Promise<SchedulerClient> {
  const deadline = Date.now() + options.connectTimeoutMs;
  let delayMs = 200;
  let told = false;
  for (;;) {
    try {
      return await SchedulerClient.subscribe({ master: options.master, frameworkInfo: frameworkInfoFor(options) });
    } catch (err) {
      if (err instanceof SchedulerCallError) {
        throw new AgoraError('AGORA_ERR_VALIDATION', `the master refused SUBSCRIBE with ${err.status}: ${err.body}`);
      }
      const unreachable = err instanceof AgoraError && err.code === 'AGORA_ERR_UNAVAILABLE';
      if (!unreachable || Date.now() + delayMs > deadline) throw err;
      if (!told) output.err(`agora execute: waiting for the master at ${options.master} ...`);
      told = true;
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }
}

function printStatus(output: ExecuteOutput, name: string, status: TaskStatus): void {
  output.out(`Received status update ${status.state} for task '${name}'`);
  if (status.message !== undefined && status.message !== '') output.out(`  message: '${status.message}'`);
  if (status.source !== undefined) output.out(`  source: ${status.source}`);
  if (status.reason !== undefined) output.out(`  reason: ${status.reason}`);
  if (status.healthy !== undefined) output.out(`  healthy?: ${status.healthy}`);
}

function explainNoFit(options: ExecuteOptions, wanted: Resource[], offers: Offer[]): string {
  const lines = [
    `agora execute: no offer could hold the task within ${formatDuration(options.offerTimeoutMs)}`,
    `  asked for: ${formatResources(wanted) || '(no resources)'} (role ${options.role})`,
  ];
  if (offers.length === 0) {
    lines.push(
      `  no offers arrived at all: is an agent registered? see http://${options.master}/master/state`,
      '  (resources already used by other frameworks, or reserved for another role, are not offered)',
    );
  }
  for (const offer of offers) {
    lines.push(
      `  agent ${offer.agent_id.value} (${offer.hostname}) offered ${formatResources(offer.resources) || 'nothing'}: ${shortfall(wanted, offer.resources).join('; ') || 'enough (but the offer was rescinded or came too late)'}`,
    );
  }
  lines.push('  ask for less with --resources, e.g. --resources "cpus:0.1;mem:32"');
  return lines.join('\n');
}

/**
 * Commander's parsed options -> ExecuteOptions. Without an explicit --name, a --task's own
 * name names the framework too.
 */
export function executeOptionsFrom(opts: Record<string, unknown>, nameGiven: boolean): ExecuteOptions {
  const taskName = (opts['task'] as { name?: unknown } | undefined)?.name;
  return {
    master: opts['master'] as string,
    name: !nameGiven && typeof taskName === 'string' && taskName !== '' ? taskName : (opts['name'] as string),
    command: opts['command'] as string | undefined,
    shell: opts['shell'] as boolean,
    resources: opts['resources'] as Resource[],
    env: opts['env'] as Record<string, string> | undefined,
    role: opts['role'] as string,
    checkpoint: opts['checkpoint'] as boolean,
    frameworkCapabilities: (opts['frameworkCapabilities'] as string[] | undefined) ?? [],
    partitionAware: opts['partitionAware'] as boolean,
    killAfterMs: opts['killAfter'] as number | undefined,
    task: opts['task'],
    group: opts['group'] ?? opts['taskGroup'],
    executorResources: opts['executorResources'] as Resource[],
    offerTimeoutMs: opts['offerTimeout'] as number,
    connectTimeoutMs: opts['connectTimeout'] as number,
  };
}
