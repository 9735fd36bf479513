/**
 * Container networks by CNI (the engine of Mesos's network/cni isolator): a container that names
 * networks gets its own network namespace, joined to each by its CNI plugins (interfaces eth0,
 * eth1, ...), and loses them when it ends. Checkpointed, so leftovers are removed at start.
 */
import type { Logger } from 'pino';
import type { NetworkInfo } from '../../api/index.js';
import { checkPluginsExist, loadNetworkConfigs, type NetworkConfigList } from './config.js';
import { CniRunner, hasCapability, type RuntimeConf } from './cni.js';
import { IpNetns, namespaceName, type NamespaceManager } from './netns.js';
import { containerIps, parseCniResult } from './result.js';
import { type AttachmentState, type ContainerNetworkState, NetworkStateStore } from './state.js';

/** What a container gets from its networks, for the launcher and the task's status updates. */
export interface NetworkAttachment {
  /** The network namespace the container must join. */
  namespacePath: string;
  /** The container's networks as TaskStatus.container_status.network_infos reports them. */
  networkInfos: NetworkInfo[];
  /** Variables for the container's environment (MESOS_CONTAINER_IP). */
  env: Record<string, string>;
}

/** Attaching containers to networks and detaching them; the network/cni isolator uses this. */
export interface ContainerNetworks {
  /** Puts the container into the named networks of `requested`; undone entirely when it fails. */
  attach(containerId: string, requested: readonly NetworkInfo[]): Promise<NetworkAttachment>;
  /** Takes the container out of its networks and removes its namespace. Harmless when it has none. */
  detach(containerId: string): Promise<void>;
  /** At agent start: detaches what a previous agent left, except the containers in `keep`. */
  recover?(keep: ReadonlySet<string>): Promise<string[]>;
}

/** A request that cannot be met, or a plugin that failed; the message is the task's. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

/** Whether `infos` (ContainerInfo.network_infos) asks for any network besides the host's. */
export function joinsNetworks(infos: readonly NetworkInfo[] | undefined): boolean {
  return (infos ?? []).some((i) => i.name !== undefined && i.name !== '');
}

export interface CniNetworksOptions {
  /** --network_cni_config_dir. */
  configDir: string;
  /** --network_cni_plugins_dir, split on ':'. */
  pluginDirs: readonly string[];
  /** Where checkpoints go (under the agent's work_dir/meta, so each agent finds only its own). */
  stateDir: string;
  logger: Pick<Logger, 'info' | 'warn'>;
  namespaces?: NamespaceManager;
  pluginTimeoutMs?: number;
  /** Environment plugins inherit; default the agent's. */
  pluginEnv?: NodeJS.ProcessEnv;
}

/** One network a container joins, as planned from its request. */
interface PlannedAttachment {
  requested: NetworkInfo;
  config: NetworkConfigList;
  ifName: string;
  capabilityArgs: Record<string, unknown>;
}

export class CniNetworks implements ContainerNetworks {
  private readonly runner: CniRunner;
  private readonly store: NetworkStateStore;
  private readonly namespaces: NamespaceManager;
  /** Detaches in flight, so a second call waits for the first instead of racing it. */
  private readonly detaching = new Map<string, Promise<void>>();

  private constructor(
    private readonly options: CniNetworksOptions,
    private networks: Map<string, NetworkConfigList>,
  ) {
    this.runner = new CniRunner({
      pluginDirs: options.pluginDirs,
      ...(options.pluginTimeoutMs === undefined ? {} : { pluginTimeoutMs: options.pluginTimeoutMs }),
      ...(options.pluginEnv === undefined ? {} : { env: options.pluginEnv }),
    });
    this.store = new NetworkStateStore(options.stateDir);
    this.namespaces = options.namespaces ?? new IpNetns();
  }

  /**
   * Reads and checks the configurations (every plugin they name must exist). Throws
   * NetworkConfigError naming the file and field, or Error when iproute2 is missing.
   */
  static async create(options: CniNetworksOptions): Promise<CniNetworks> {
    if (options.namespaces === undefined) await new IpNetns().ensureAvailable();
    const networks = await loadNetworks(options);
    return new CniNetworks(options, networks);
  }

  /** Names of the networks this agent offers, sorted. */
  networkNames(): string[] {
    return [...this.networks.keys()].sort();
  }

  async attach(containerId: string, requested: readonly NetworkInfo[]): Promise<NetworkAttachment> {
    const plan = planAttachments(requested, await this.networksFor(requested), this.options.configDir);
    const state: ContainerNetworkState = {
      containerId,
      namespace: { name: namespaceName(containerId), path: '' },
      attachments: [],
    };
    let current = '';
    try {
      // Checkpointed before each step: an agent that dies midway undoes it when it starts again.
      await this.store.write(state);
      state.namespace.path = await this.namespaces.create(state.namespace.name);
      await this.store.write(state);
      for (const step of plan) {
        current = ` to CNI network '${step.config.name}'`;
        const attachment: AttachmentState = {
          network: step.config.name,
          ifName: step.ifName,
          config: step.config,
          capabilityArgs: step.capabilityArgs,
          requested: step.requested,
        };
        state.attachments.push(attachment);
        await this.store.write(state);
        const result = await this.runner.add(step.config, runtimeConf(state, attachment));
        parseCniResult(result ?? {}); // A result we cannot read is a failed ADD.
        attachment.result = result;
        await this.store.write(state);
      }
    } catch (err) {
      await this.detach(containerId).catch((undo: Error) =>
        this.options.logger.warn({ containerId, error: undo.message }, 'cannot undo a failed network attach'),
      );
      throw new NetworkError(`Failed to attach the container${current}: ${(err as Error).message}`);
    }
    const networkInfos = state.attachments.map(reportedNetworkInfo);
    const ip = networkInfos[0]?.ip_addresses?.find((a) => a.protocol === 'IPv4')?.ip_address;
    this.options.logger.info(
      { containerId, namespace: state.namespace.path, networks: networkInfos.map((n) => ({ name: n.name, ips: n.ip_addresses })) },
      'container attached to CNI networks',
    );
    return { namespacePath: state.namespace.path, networkInfos, env: ip === undefined ? {} : { MESOS_CONTAINER_IP: ip } };
  }

  detach(containerId: string): Promise<void> {
    const running = this.detaching.get(containerId);
    if (running !== undefined) return running;
    const done = this.doDetach(containerId).finally(() => this.detaching.delete(containerId));
    this.detaching.set(containerId, done);
    return done;
  }

  /** Runs CHECK for each network of the container (skipped for lists that disable it). */
  async check(containerId: string): Promise<void> {
    const state = await this.store.read(containerId);
    if (state === undefined) throw new NetworkError(`container ${containerId} has no CNI networks`);
    for (const attachment of state.attachments) {
      await this.runner.check(attachment.config, runtimeConf(state, attachment), attachment.result);
    }
  }

  /**
   * At agent start: detaches every container with a checkpoint that is not in `keep` (a previous
   * agent's leftovers: its processes are gone, its IPs, rules and namespaces are not). Returns
   * the ids it cleaned up; failures are logged and retried at the next start.
   */
  async recover(keep: ReadonlySet<string> = new Set()): Promise<string[]> {
    const cleaned: string[] = [];
    for (const containerId of await this.store.containerIds()) {
      if (keep.has(containerId)) continue;
      this.options.logger.warn({ containerId }, 'removing the networks of a container left by a previous agent');
      try {
        await this.detach(containerId);
        cleaned.push(containerId);
      } catch (err) {
        this.options.logger.warn({ containerId, error: (err as Error).message }, 'cannot remove the networks of a leftover container');
      }
    }
    return cleaned;
  }

  private async doDetach(containerId: string): Promise<void> {
    let state: ContainerNetworkState | undefined;
    try {
      state = await this.store.read(containerId);
    } catch (err) {
      // An unreadable checkpoint cannot be replayed: remove what can be found by name.
      this.options.logger.warn({ containerId, error: (err as Error).message }, 'unreadable network checkpoint');
      await this.namespaces.remove(namespaceName(containerId));
      await this.store.remove(containerId);
      return;
    }
    if (state === undefined) return;
    const failures: string[] = [];
    for (const attachment of [...state.attachments].reverse()) {
      try {
        await this.runner.del(attachment.config, runtimeConf(state, attachment), attachment.result);
      } catch (err) {
        failures.push(`network '${attachment.network}': ${(err as Error).message}`);
      }
    }
    try {
      await this.namespaces.remove(state.namespace.name);
    } catch (err) {
      failures.push((err as Error).message);
    }
    // The checkpoint stays when something failed, so the next agent start tries again.
    if (failures.length > 0) throw new NetworkError(`Failed to detach container ${containerId}: ${failures.join('; ')}`);
    await this.store.remove(containerId);
    this.options.logger.info({ containerId, networks: state.attachments.map((a) => a.network) }, 'container detached from CNI networks');
  }

  /** The configured networks, read again when a name is unknown (networks added since start work). */
  private async networksFor(requested: readonly NetworkInfo[]): Promise<ReadonlyMap<string, NetworkConfigList>> {
    const unknown = requested.some((r) => r.name !== undefined && r.name !== '' && !this.networks.has(r.name));
    if (unknown) this.networks = await loadNetworks(this.options);
    return this.networks;
  }
}

async function loadNetworks(options: CniNetworksOptions): Promise<Map<string, NetworkConfigList>> {
  const networks = await loadNetworkConfigs(options.configDir);
  await checkPluginsExist(networks.values(), options.pluginDirs);
  return networks;
}

/**
 * Which networks a container joins and how, from ContainerInfo.network_infos: entries without a
 * name stay on the host network; each named one must exist and be asked for once. Throws
 * NetworkError with a message for the task's user.
 */
export function planAttachments(
  requested: readonly NetworkInfo[],
  networks: ReadonlyMap<string, NetworkConfigList>,
  configDir: string,
): PlannedAttachment[] {
  const plan: PlannedAttachment[] = [];
  for (const info of requested) {
    const name = info.name;
    if (name === undefined || name === '') continue;
    if (plan.some((p) => p.config.name === name)) {
      throw new NetworkError(`ContainerInfo.network_infos names CNI network '${name}' more than once`);
    }
    const config = networks.get(name);
    if (config === undefined) {
      const known = [...networks.keys()].sort();
      throw new NetworkError(
        `Unknown CNI network '${name}': ${known.length === 0 ? 'this agent has none' : `this agent has ${known.map((n) => `'${n}'`).join(', ')}`} ` +
          `(configured in ${configDir})`,
      );
    }
    const portMappings = portMappingsOf(info, name);
    if (portMappings.length > 0 && !hasCapability(config, 'portMappings')) {
      throw new NetworkError(
        `CNI network '${name}' cannot map ports: none of its plugins has the "portMappings" capability ` +
          `(add {"type": "portmap", "capabilities": {"portMappings": true}} to ${config.source})`,
      );
    }
    plan.push({
      requested: info,
      config,
      ifName: `eth${plan.length}`,
      capabilityArgs: portMappings.length > 0 ? { portMappings } : {},
    });
  }
  return plan;
}

/** NetworkInfo.port_mappings as the portmap plugin's `portMappings` capability takes them. */
function portMappingsOf(info: NetworkInfo, network: string): Array<{ hostPort: number; containerPort: number; protocol: string }> {
  const seen = new Set<string>();
  return (info.port_mappings ?? []).map((mapping, i) => {
    const at = `network '${network}': port_mappings[${i}]`;
    for (const [field, port] of [['host_port', mapping.host_port], ['container_port', mapping.container_port]] as const) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NetworkError(`${at}.${field}: ${port} is not a port (1-65535)`);
    }
    const protocol = (mapping.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      throw new NetworkError(`${at}.protocol: "${mapping.protocol}" is not "tcp" or "udp"`);
    }
    const key = `${protocol}/${mapping.host_port}`;
    if (seen.has(key)) throw new NetworkError(`${at}.host_port: ${protocol} port ${mapping.host_port} is mapped twice`);
    seen.add(key);
    return { hostPort: mapping.host_port, containerPort: mapping.container_port, protocol };
  });
}

function runtimeConf(state: ContainerNetworkState, attachment: AttachmentState): RuntimeConf {
  return {
    containerId: state.containerId,
    netns: state.namespace.path,
    ifName: attachment.ifName,
    capabilityArgs: attachment.capabilityArgs,
    // As Mesos does: plugins that know Mesos read the task's NetworkInfo (labels, port mappings).
    configArgs: { 'org.apache.mesos': { network_info: attachment.requested } },
  };
}

/** As Mesos reports a CNI network: the requested NetworkInfo with the container's addresses. */
export function reportedNetworkInfo(attachment: AttachmentState): NetworkInfo {
  const { ip_addresses: _requested, ...info } = attachment.requested;
  const ips = attachment.result === undefined ? [] : containerIps(parseCniResult(attachment.result));
  return {
    ...info,
    ip_addresses: ips.map((ip) => ({ protocol: ip.version === 4 ? ('IPv4' as const) : ('IPv6' as const), ip_address: ip.ip })),
  };
}
