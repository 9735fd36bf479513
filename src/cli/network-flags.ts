/** The agent's CNI network flags (Mesos's names), shared by `agora agent` and `agora local`. */
import type { Command } from 'commander';
import type { AgentConfig } from '../main/agent.js';

export type NetworkConfig = Pick<AgentConfig, 'networkCniConfigDir' | 'networkCniPluginsDir'>;

export function addNetworkOptions(command: Command): Command {
  return command
    .option(
      '--network-cni-config-dir <dir>',
      'CNI network configurations (.conf, .conflist); a task joins one by NetworkInfo.name (default: none, tasks use the host network)',
    )
    .option('--network-cni-plugins-dir <dirs>', 'where the CNI plugins are, ":"-separated (default: /usr/lib/cni, else /opt/cni/bin)');
}

/** The network flags given, as startAgent takes them. */
export function networkOptionsFrom(opts: Record<string, unknown>): NetworkConfig {
  const out: NetworkConfig = {};
  if (opts['networkCniConfigDir'] !== undefined) out.networkCniConfigDir = opts['networkCniConfigDir'] as string;
  if (opts['networkCniPluginsDir'] !== undefined) out.networkCniPluginsDir = opts['networkCniPluginsDir'] as string;
  return out;
}
