/**
 * Composition root of an agent: validates its configuration, detects what the machine offers,
 * and starts the agent (HTTP server, core, containerizer, master link). `agora agent` and
 * `agora local` call this.
 */
import { mkdir } from 'node:fs/promises';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { AgoraError, formatDuration } from '../base/index.js';
import { defaultExecutorCommand, defaultExecutorVolumes } from './default-executor.js';
import { isEtcdUrl, parseEtcdUrl } from '../etcd/index.js';
import {
  Agent,
  agentAttributes,
  agentResources,
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  machineFacts,
  REGISTRATION_BACKOFF_FACTOR_MS,
} from '../agent/index.js';
import {
  agentIsRoot,
  chooseIsolation,
  DEFAULT_CGROUPS_ROOT,
  DEFAULT_DISK_WATCH_INTERVAL_MS,
  DEFAULT_PIDS_LIMIT,
  type IsolationChoice,
  type IsolationMode,
  DEFAULT_DOCKER_REGISTRY,
  DEFAULT_PULL_TIMEOUT_MS,
  defaultDockerStoreDir,
  imageIsolators,
  type ImageOptions,
  networkIsolatorFromFlags,
} from '../containerizer/index.js';

export type { ImageOptions };

export interface AgentConfig {
  /** "host:port" of the master, or "etcd://host:port[,...]" to follow the leading master. */
  master: string;
  /** Mesos --work_dir. */
  workDir: string;
  /** Listen address, default chosen by the CLI "127.0.0.1". */
  ip: string;
  /** 5051 by default (0 = pick a free port). */
  port: number;
  /** Advertised; default os.hostname(), or ip. */
  hostname?: string;
  /** Mesos --resources text or JSON; absent = autodetect. */
  resources?: string;
  /** Mesos --attributes text. */
  attributes?: string;
  logger: Logger;
  executorShutdownGracePeriodMs?: number;
  /** --executor_registration_timeout (Mesos: 1mins). */
  executorRegistrationTimeoutMs?: number;
  /** --docker_registry, --docker_store_dir, --docker_config, --docker_pull_timeout, --image_provisioner_backend. */
  images?: ImageOptions;
  /** `--isolation`; absent: oci where the agent runs as root and crun or runc is installed, else posix. */
  isolation?: IsolationMode;
  /** `--oci_runtime`: crun, runc or a path; absent: crun, else runc. */
  ociRuntime?: string;
  /** `--runtime_dir`: OCI bundles and runtime state; default <work_dir>/runtime. */
  runtimeDir?: string;
  /** `--cgroups_root`: containers' cgroups are /<root>/<containerId>; default "agora". */
  cgroupsRoot?: string;
  /** `--container_pids_limit`: processes per container, 0 = unlimited; default 4096. */
  containerPidsLimit?: number;
  /** `--cgroups_enable_cfs`: a hard CFS quota from cpus besides the shares; default true. */
  cgroupsEnableCfs?: boolean;
  /** `--container_disk_watch_interval`; default 15secs. */
  containerDiskWatchIntervalMs?: number;
  /** `--enforce_container_disk_quota`: kill a task whose sandbox outgrows its disk; default true. */
  enforceContainerDiskQuota?: boolean;
  /** `--network_cni_config_dir`: CNI networks tasks may join; absent: none (host network only). */
  networkCniConfigDir?: string;
  /** `--network_cni_plugins_dir`, ':'-separated; default /usr/lib/cni, else /opt/cni/bin. */
  networkCniPluginsDir?: string;
  /** `--reconfiguration_policy`: equal or additive (default; Mesos's default is equal, docs/decisions/0012). */
  reconfigurationPolicy?: 'equal' | 'additive';
  /** `--strict`: a checkpoint file that cannot be read stops the agent; default true. */
  strict?: boolean;
}

export interface AgentHandle {
  /** http://ip:port */
  url: string;
  /** How tasks run and why (`oci: ...` or `posix: ...`), as the start-up log says it. */
  isolation: { mode: IsolationMode; reason: string };
  agentId(): string | undefined;
  stop(): Promise<void>;
}

/** Mesos's --executor_shutdown_grace_period default. */
const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS = 5_000;

/** Starts an agent. Throws AGORA_ERR_VALIDATION naming the flag when the configuration is wrong. */
export async function startAgent(config: AgentConfig): Promise<AgentHandle> {
  const masterUrl = masterUrlOf(config.master);
  const grace = config.executorShutdownGracePeriodMs ?? DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS;
  if (!(grace >= 0)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--executor_shutdown_grace_period must not be negative, got ${grace} ms`);
  }
  const registrationTimeoutMs = config.executorRegistrationTimeoutMs ?? DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS;
  if (!(registrationTimeoutMs > 0)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--executor_registration_timeout must be positive, got ${registrationTimeoutMs} ms`);
  }
  const workDir = resolve(config.workDir);
  try {
    // 0755: tasks running as other users must reach their sandboxes below it.
    await mkdir(workDir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--work_dir: cannot create '${workDir}': ${(err as Error).message}`);
  }
  // Built once here only to check the image flags: a bad one fails the start, naming the flag.
  imageIsolators({ ...config.images, workDir, isolates: false, canSwitchUser: false });
  const [resources, attributes] = await Promise.all([
    machineFacts(workDir).then((facts) => agentResources(config.resources, facts)),
    agentAttributes(config.attributes),
  ]);
  const diskWatchMs = config.containerDiskWatchIntervalMs ?? DEFAULT_DISK_WATCH_INTERVAL_MS;
  if (!(diskWatchMs > 0)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--container_disk_watch_interval must be positive, got ${diskWatchMs} ms`);
  }
  const pidsLimit = config.containerPidsLimit ?? DEFAULT_PIDS_LIMIT;
  if (!Number.isInteger(pidsLimit) || pidsLimit < 0) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--container_pids_limit must be a whole number >= 0 (0 = unlimited), got ${pidsLimit}`);
  }
  const cgroupsRoot = config.cgroupsRoot ?? DEFAULT_CGROUPS_ROOT;
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(cgroupsRoot)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--cgroups_root: "${cgroupsRoot}" is not a relative cgroup path; write e.g. agora`);
  }
  const runtimeDir = resolve(config.runtimeDir ?? join(workDir, 'runtime'));
  const enableCfs = config.cgroupsEnableCfs ?? true;
  const isolation = await isolationFor(config, { runtimeDir, cgroupsRoot, pidsLimit, enableCfs });
  config.logger.info({ isolation: isolation.isolation }, `isolation ${isolation.reason}`);
  for (const note of isolation.notes) config.logger.warn({ isolation: isolation.isolation }, note);
  const network = await networkIsolatorFromFlags({
    workDir,
    isolates: isolation.launcher.isolates,
    isRoot: agentIsRoot(),
    logger: config.logger,
    ...(config.networkCniConfigDir === undefined ? {} : { configDir: resolve(config.networkCniConfigDir) }),
    ...(config.networkCniPluginsDir === undefined ? {} : { pluginsDir: config.networkCniPluginsDir }),
  }).catch((err: unknown) => {
    isolation.close();
    throw err;
  });

  const wildcard = config.ip === '0.0.0.0' || config.ip === '::';
  const advertisedIp = wildcard ? firstExternalIpv4() : config.ip;
  const hostname = config.hostname ?? (osHostname() || advertisedIp);
  const flags: Record<string, string> = {
    master: config.master,
    work_dir: workDir,
    ip: config.ip,
    hostname,
    launcher: isolation.isolation === 'oci' ? 'linux' : 'posix',
    isolation: isolation.isolation,
    ...(isolation.isolation === 'oci'
      ? { runtime_dir: runtimeDir, cgroups_root: cgroupsRoot, container_pids_limit: String(pidsLimit), cgroups_enable_cfs: String(enableCfs) }
      : {}),
    container_disk_watch_interval: formatDuration(diskWatchMs),
    enforce_container_disk_quota: String(config.enforceContainerDiskQuota ?? true),
    switch_user: String(agentIsRoot()),
    executor_shutdown_grace_period: formatDuration(grace),
    executor_registration_timeout: formatDuration(registrationTimeoutMs),
    registration_backoff_factor: formatDuration(REGISTRATION_BACKOFF_FACTOR_MS),
    recover: 'reconnect',
    reconfiguration_policy: config.reconfigurationPolicy ?? 'additive',
    strict: String(config.strict ?? true),
    ...(config.resources === undefined ? {} : { resources: config.resources }),
    ...(config.attributes === undefined ? {} : { attributes: config.attributes }),
    ...imageFlags(config.images, workDir),
    ...(config.networkCniConfigDir === undefined
      ? {}
      : { network_cni_config_dir: resolve(config.networkCniConfigDir), network_cni_plugins_dir: network.pluginDirs.join(':') }),
  };
  let agent: Agent;
  try {
    agent = await Agent.start({
      masterUrl,
      workDir,
      listenIp: config.ip,
      advertisedIp,
      port: config.port,
      hostname,
      resources,
      attributes,
      executorShutdownGracePeriodMs: grace,
      executorRegistrationTimeoutMs: registrationTimeoutMs,
      defaultExecutorCommand: defaultExecutorCommand(),
      // Bind mounts exist only under oci; a posix executor sees the host's files as they are.
      ...(isolation.isolation === 'oci' ? { defaultExecutorVolumes: defaultExecutorVolumes() } : {}),
      flags,
      logger: config.logger,
      launcher: isolation.launcher,
      containerizer: {
        diskWatchIntervalMs: diskWatchMs,
        enforceDiskQuota: config.enforceContainerDiskQuota ?? true,
        isolators: [network.isolator],
      },
      ...(config.images === undefined ? {} : { images: config.images }),
      reconfigurationPolicy: config.reconfigurationPolicy ?? 'additive',
      strict: config.strict ?? true,
    });
  } catch (err) {
    isolation.close();
    // A refused recovery says what changed and what to do; it is not about listening.
    if (err instanceof AgoraError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? '; is another agent running? pick another --port (0 = any free port)' : '';
    throw new AgoraError('AGORA_ERR_VALIDATION', `cannot listen on ${config.ip}:${config.port}: ${(err as Error).message}${hint}`);
  }
  config.logger.info({ url: agent.url, master: masterUrl, workDir, resources: resources.toString() }, 'agent started');
  return {
    url: agent.url,
    isolation: { mode: isolation.isolation, reason: isolation.reason },
    agentId: () => agent.agentId(),
    stop: async () => {
      await agent.stop();
      isolation.close();
    },
  };
}

/** The launcher `--isolation` asks for, or the best one this machine allows; the flag's error otherwise. */
async function isolationFor(
  config: AgentConfig,
  oci: { runtimeDir: string; cgroupsRoot: string; pidsLimit: number; enableCfs: boolean },
): Promise<IsolationChoice> {
  try {
    return await chooseIsolation({
      ...oci,
      isRoot: agentIsRoot(),
      logger: config.logger.child({ component: 'oci' }),
      ...(config.isolation === undefined ? {} : { requested: config.isolation }),
      ...(config.ociRuntime === undefined ? {} : { ociRuntime: config.ociRuntime }),
    });
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', (err as Error).message);
  }
}

/**
 * "host:port" (or "http://host:port") to the master's base URL; "etcd://..." as it is (the link
 * follows the leader there). ZooKeeper and files are refused.
 */
function masterUrlOf(master: string): string {
  const text = master.trim();
  if (isEtcdUrl(text)) {
    const location = parseEtcdUrl(text);
    if ('error' in location) throw new AgoraError('AGORA_ERR_VALIDATION', `--master: ${location.error}`);
    return text;
  }
  if (/^(zk|file):\/\//.test(text)) {
    throw new AgoraError(
      'AGORA_ERR_VALIDATION',
      `--master: "${master}" is not supported; give the master as host:port, e.g. 127.0.0.1:5050, or etcd://HOST:PORT for HA masters`,
    );
  }
  const hostPort = text.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!/^(\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/.test(hostPort)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--master: "${master}" is not host:port; write e.g. 127.0.0.1:5050`);
  }
  return `http://${hostPort}`;
}

/** The address to advertise when listening on all interfaces: the first non-loopback IPv4. */
function firstExternalIpv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found !== undefined) return found.address;
  }
  return '127.0.0.1';
}

/** The image flags as /flags shows them (Mesos's names and defaults). */
function imageFlags(images: ImageOptions | undefined, workDir: string): Record<string, string> {
  return {
    docker_registry: images?.dockerRegistry ?? DEFAULT_DOCKER_REGISTRY,
    docker_store_dir: images?.dockerStoreDir ?? defaultDockerStoreDir(workDir),
    docker_pull_timeout: formatDuration(images?.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS),
    image_providers: 'docker',
    ...(images?.provisionerBackend === undefined ? {} : { image_provisioner_backend: images.provisionerBackend }),
  };
}
