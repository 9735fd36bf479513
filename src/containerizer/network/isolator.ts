/**
 * Mesos's network/cni isolator: a container whose ContainerInfo.network_infos names networks
 * joins them in its own network namespace, reports their addresses, and leaves them when it
 * ends. Entries without a name, or none at all, keep the container on the host's network.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeIssues, NetworkInfo } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import type { ContainerRequest, Isolator, LaunchPatch } from '../isolator.js';
import { LaunchError, type LaunchSpec } from '../launcher.js';
import { DEFAULT_PLUGIN_DIRS } from './config.js';
import { CniNetworks, type ContainerNetworks, joinsNetworks } from './networks.js';

export interface NetworkCniIsolatorOptions {
  /** Absent when the agent has no --network_cni_config_dir: tasks that name a network then fail. */
  networks: ContainerNetworks | undefined;
  /** Whether the launcher joins a network namespace (oci); posix cannot. */
  isolates: boolean;
  logger: Pick<Logger, 'warn'>;
}

// Only the field this isolator reads: the rest of ContainerInfo is the other isolators' to judge.
const NetworkInfos = z.object({ network_infos: z.array(NetworkInfo).optional() });

export class NetworkCniIsolator implements Isolator {
  readonly name = 'network/cni';

  constructor(private readonly options: NetworkCniIsolatorOptions) {}

  async prepare(request: ContainerRequest, spec: Readonly<LaunchSpec>): Promise<LaunchPatch | undefined> {
    const requested = requestedNetworks(request.containerInfo);
    if (!joinsNetworks(requested)) return undefined;
    const names = requested.filter((n) => n.name !== undefined && n.name !== '').map((n) => `'${n.name}'`).join(', ');
    const { networks, isolates } = this.options;
    if (networks === undefined) {
      throw new LaunchError(`The task asks for CNI network ${names}, but this agent has no CNI networks: start it with --network_cni_config_dir`);
    }
    if (!isolates) {
      throw new LaunchError(`CNI network ${names} needs --isolation=oci (as root); this agent runs tasks with the posix launcher`);
    }
    let attachment;
    try {
      attachment = await networks.attach(request.containerId, requested);
    } catch (err) {
      throw new LaunchError((err as Error).message);
    }
    return {
      networkNamespacePath: attachment.namespacePath,
      env: { ...spec.env, ...attachment.env },
      networkInfos: attachment.networkInfos,
    };
  }

  async recover(keep: ReadonlySet<string>): Promise<void> {
    await this.options.networks?.recover?.(keep).catch((err: Error) => {
      this.options.logger.warn({ error: err.message }, 'cannot remove the networks a previous agent left');
    });
  }

  async cleanup(containerId: string): Promise<void> {
    try {
      await this.options.networks?.detach(containerId);
    } catch (err) {
      // Its checkpoint stays: the next agent start tries again.
      this.options.logger.warn({ containerId, error: (err as Error).message }, 'cannot remove the networks of a container');
    }
  }
}

/** ContainerInfo.network_infos of an opaque ContainerInfo; LaunchError naming a bad field. */
export function requestedNetworks(containerInfo: unknown): NetworkInfo[] {
  if (typeof containerInfo !== 'object' || containerInfo === null) return [];
  const parsed = NetworkInfos.safeParse(containerInfo);
  if (!parsed.success) throw new LaunchError(describeIssues(parsed.error, 'TaskInfo.container'));
  return parsed.data.network_infos ?? [];
}

export interface NetworkFlags {
  /** --network_cni_config_dir; absent: no CNI networks, every task on the host's network. */
  configDir?: string;
  /** --network_cni_plugins_dir, directories separated by ':'; default /usr/lib/cni, else /opt/cni/bin. */
  pluginsDir?: string;
  workDir: string;
  /** Whether the agent's launcher joins network namespaces (oci). */
  isolates: boolean;
  isRoot: boolean;
  logger: Logger;
}

/**
 * The network/cni isolator for the agent's flags, with the networks of containers a previous
 * agent left behind removed. Throws AGORA_ERR_VALIDATION naming the flag, the file and the field.
 */
export async function networkIsolatorFromFlags(flags: NetworkFlags): Promise<{ isolator: NetworkCniIsolator; pluginDirs: string[] }> {
  const invalid = (message: string) => new AgoraError('AGORA_ERR_VALIDATION', message);
  const fallback = DEFAULT_PLUGIN_DIRS.find((d) => existsSync(d)) ?? DEFAULT_PLUGIN_DIRS[DEFAULT_PLUGIN_DIRS.length - 1]!;
  const pluginDirs = (flags.pluginsDir ?? fallback).split(':').filter((d) => d !== '');
  if (flags.configDir === undefined) {
    if (flags.pluginsDir !== undefined) throw invalid('--network_cni_plugins_dir needs --network_cni_config_dir (the networks to use)');
    return { isolator: new NetworkCniIsolator({ networks: undefined, isolates: flags.isolates, logger: flags.logger }), pluginDirs };
  }
  if (!flags.isRoot) throw invalid('--network_cni_config_dir: CNI networks need the agent to run as root (it makes network namespaces)');
  if (!flags.isolates) {
    throw invalid('--network_cni_config_dir: CNI networks need --isolation=oci; the posix launcher cannot put a task in a network namespace');
  }
  const missing = pluginDirs.filter((d) => !existsSync(d));
  if (missing.length > 0) {
    throw invalid(
      `--network_cni_plugins_dir: '${missing.join("', '")}' does not exist; install the CNI plugins (e.g. apt-get install containernetworking-plugins) or point the flag at them`,
    );
  }
  let networks: CniNetworks;
  try {
    networks = await CniNetworks.create({
      configDir: flags.configDir,
      pluginDirs,
      stateDir: join(flags.workDir, 'meta', 'network', 'cni'),
      logger: flags.logger.child({ component: 'network/cni' }),
    });
  } catch (err) {
    throw invalid(`--network_cni_config_dir: ${(err as Error).message}`);
  }
  // A previous agent's networks are kept until the agent has recovered its containers: it then
  // calls the isolator's recover with the ones to keep.
  flags.logger.info({ networks: networks.networkNames(), pluginDirs }, 'CNI networks');
  return { isolator: new NetworkCniIsolator({ networks, isolates: flags.isolates, logger: flags.logger }), pluginDirs };
}
