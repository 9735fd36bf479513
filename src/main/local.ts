/**
 * `agora local`: a master and N agents in one process on one machine, the way to try agora
 * and the cluster the end-to-end tests run against. Logs go to files; the caller prints where.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent } from './agent.js';
import type { AgentConfig, AgentHandle } from './agent.js';
import type { ImageOptions } from '../containerizer/index.js';
import { createLogger } from './logging.js';
import { startMaster } from './master.js';

export interface LocalConfig {
  ip: string;
  /** The master's port; agent i listens on port + 1 + i, or on a free port when port is 0. */
  port: number;
  agents: number;
  workDir: string;
  allocationIntervalMs?: number;
  resources?: string;
  attributes?: string;
  /** Directory for master.log and agent-<i>.log. */
  logDir: string;
  /** Isolation flags for every agent (--isolation, ...); a runtime dir gets a subdirectory per agent. */
  isolation?: Pick<
    AgentConfig,
    | 'isolation'
    | 'ociRuntime'
    | 'runtimeDir'
    | 'cgroupsRoot'
    | 'containerPidsLimit'
    | 'cgroupsEnableCfs'
    | 'containerDiskWatchIntervalMs'
    | 'enforceContainerDiskQuota'
  >;
  /** Image flags for every agent (--docker_registry, ...). */
  images?: ImageOptions;
  /** CNI flags for every agent (--network_cni_config_dir, --network_cni_plugins_dir). */
  network?: Pick<AgentConfig, 'networkCniConfigDir' | 'networkCniPluginsDir'>;
}

export interface LocalHandle {
  masterUrl: string;
  agentUrls: string[];
  /** How the agents run tasks, and why (the first agent's; they share the machine). */
  isolation: AgentHandle['isolation'] | undefined;
  workDir: string;
  stop(): Promise<void>;
}

export async function startLocal(config: LocalConfig): Promise<LocalHandle> {
  mkdirSync(config.workDir, { recursive: true });
  const master = await startMaster({
    ip: config.ip,
    port: config.port,
    workDir: join(config.workDir, 'master'),
    allocationIntervalMs: config.allocationIntervalMs ?? 1000,
    logger: createLogger({ name: 'master', file: join(config.logDir, 'master.log') }),
  });
  const masterPort = Number(new URL(master.url).port);
  const agents: AgentHandle[] = [];
  try {
    for (let i = 0; i < config.agents; i++) {
      agents.push(
        await startAgent({
          master: `${config.ip}:${masterPort}`,
          workDir: join(config.workDir, 'agents', String(i)),
          ip: config.ip,
          port: config.port === 0 ? 0 : masterPort + 1 + i,
          ...(config.resources === undefined ? {} : { resources: config.resources }),
          ...(config.attributes === undefined ? {} : { attributes: config.attributes }),
          ...config.isolation,
          ...(config.isolation?.runtimeDir === undefined ? {} : { runtimeDir: join(config.isolation.runtimeDir, String(i)) }),
          ...(config.images === undefined ? {} : { images: config.images }),
          ...config.network,
          logger: createLogger({ name: `agent-${i}`, file: join(config.logDir, `agent-${i}.log`) }),
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await master.stop();
    throw err;
  }
  return {
    masterUrl: master.url,
    agentUrls: agents.map((a) => a.url),
    isolation: agents[0]?.isolation,
    workDir: config.workDir,
    async stop() {
      await Promise.allSettled(agents.map((a) => a.stop()));
      await master.stop();
    },
  };
}
