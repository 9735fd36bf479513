/**
 * Composition root of an agent: validates its configuration, detects what the machine offers,
 * and starts the agent (HTTP server, core, containerizer, master link). `agora agent` and
 * `agora local` call this.
 */
import { mkdir } from 'node:fs/promises';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { AgoraError, formatDuration } from '../base/index.js';
import { Agent, agentAttributes, agentResources, machineFacts, REGISTRATION_BACKOFF_FACTOR_MS } from '../agent/index.js';
import {
  agentIsRoot,
  DEFAULT_DOCKER_REGISTRY,
  DEFAULT_PULL_TIMEOUT_MS,
  defaultDockerStoreDir,
  imageIsolators,
  type ImageOptions,
} from '../containerizer/index.js';

export type { ImageOptions };

export interface AgentConfig {
  /** "host:port" of the master. */
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
  /** --docker_registry, --docker_store_dir, --docker_config, --docker_pull_timeout, --image_provisioner_backend. */
  images?: ImageOptions;
}

export interface AgentHandle {
  /** http://ip:port */
  url: string;
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
  const wildcard = config.ip === '0.0.0.0' || config.ip === '::';
  const advertisedIp = wildcard ? firstExternalIpv4() : config.ip;
  const hostname = config.hostname ?? (osHostname() || advertisedIp);
  const flags: Record<string, string> = {
    master: config.master,
    work_dir: workDir,
    ip: config.ip,
    hostname,
    launcher: 'posix',
    isolation: 'posix',
    switch_user: String(agentIsRoot()),
    executor_shutdown_grace_period: formatDuration(grace),
    registration_backoff_factor: formatDuration(REGISTRATION_BACKOFF_FACTOR_MS),
    ...(config.resources === undefined ? {} : { resources: config.resources }),
    ...(config.attributes === undefined ? {} : { attributes: config.attributes }),
    ...imageFlags(config.images, workDir),
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
      flags,
      logger: config.logger,
      ...(config.images === undefined ? {} : { images: config.images }),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? '; is another agent running? pick another --port (0 = any free port)' : '';
    throw new AgoraError('AGORA_ERR_VALIDATION', `cannot listen on ${config.ip}:${config.port}: ${(err as Error).message}${hint}`);
  }
  config.logger.info({ url: agent.url, master: masterUrl, workDir, resources: resources.toString() }, 'agent started');
  return { url: agent.url, agentId: () => agent.agentId(), stop: () => agent.stop() };
}

/** "host:port" (or "http://host:port") to the master's base URL; ZooKeeper and files are refused. */
function masterUrlOf(master: string): string {
  const text = master.trim();
  if (/^(zk|file):\/\//.test(text)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--master: "${master}" is not supported; give the master as host:port, e.g. 127.0.0.1:5050`);
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
