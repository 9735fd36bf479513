/**
 * A network configuration list run as the CNI spec says (libcni's AddNetworkList, CheckNetworkList,
 * DelNetworkList): plugins in order for ADD with each result as the next prevResult, in reverse for
 * DEL; the list's name and version in every plugin's config; capability values as runtimeConfig.
 */
import { type NetworkConfigList, type PluginConfig, findPlugin, NetworkConfigError } from './config.js';
import { type CniCommand, runPlugin } from './plugin.js';

/** What one attachment of a container to a network is called with (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  /** The network namespace path (CNI_NETNS). */
  netns: string;
  /** The interface name inside the container (CNI_IFNAME), e.g. "eth0". */
  ifName: string;
  /** CNI_ARGS pairs. */
  args?: ReadonlyArray<readonly [string, string]>;
  /**
   * Values for capabilities (CONVENTIONS.md), e.g. `portMappings`: a plugin that declares the
   * capability in its `capabilities` gets the value in `runtimeConfig`. Replayed on DEL and CHECK,
   * or the portmap plugin would leave its rules behind.
   */
  capabilityArgs: Readonly<Record<string, unknown>>;
  /** Merged into each plugin's `args` (plugins ignore what they do not know). */
  configArgs?: Readonly<Record<string, unknown>>;
}

export interface CniRunnerOptions {
  /** Where plugins are looked for, in order; also CNI_PATH. */
  pluginDirs: readonly string[];
  /** Per plugin call; a plugin that hangs is killed. */
  pluginTimeoutMs?: number;
  /** Environment plugins inherit (default: the agent's own, which has the PATH iptables needs). */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_PLUGIN_TIMEOUT_MS = 60_000;

export class CniRunner {
  private readonly timeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: CniRunnerOptions) {
    this.timeoutMs = options.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
    this.env = options.env ?? process.env;
  }

  get pluginDirs(): readonly string[] {
    return this.options.pluginDirs;
  }

  /** Runs ADD through the list and returns the last plugin's result (raw JSON, as printed). */
  async add(list: NetworkConfigList, rt: RuntimeConf): Promise<unknown> {
    let result: unknown;
    for (const plugin of list.plugins) {
      const output = await this.call('ADD', list, plugin, rt, result);
      // A plugin that prints nothing passes the previous result on unchanged.
      if (output !== undefined) result = output;
    }
    return result;
  }

  /** Runs CHECK through the list with the ADD result; a no-op for versions before 0.4.0 or with disableCheck. */
  async check(list: NetworkConfigList, rt: RuntimeConf, addResult: unknown): Promise<void> {
    if (list.disableCheck || !atLeast(list.cniVersion, [0, 4, 0])) return;
    for (const plugin of list.plugins) await this.call('CHECK', list, plugin, rt, addResult);
  }

  /**
   * Runs DEL through the list in reverse order. `addResult` is the cached ADD result (absent
   * when ADD never finished); it is passed as prevResult from version 0.4.0 on, as libcni does.
   */
  async del(list: NetworkConfigList, rt: RuntimeConf, addResult?: unknown): Promise<void> {
    const prev = atLeast(list.cniVersion, [0, 4, 0]) ? addResult : undefined;
    for (const plugin of [...list.plugins].reverse()) await this.call('DEL', list, plugin, rt, prev);
  }

  private async call(
    command: CniCommand,
    list: NetworkConfigList,
    plugin: PluginConfig,
    rt: RuntimeConf,
    prevResult: unknown,
  ): Promise<unknown> {
    const path = await findPlugin(plugin.type, this.options.pluginDirs);
    if (path === undefined) {
      throw new NetworkConfigError(
        `network "${list.name}" (${list.source}): no executable plugin "${plugin.type}" in ${this.options.pluginDirs.join(':')}`,
      );
    }
    return runPlugin({
      path,
      type: plugin.type,
      command,
      containerId: rt.containerId,
      netns: rt.netns,
      ifName: rt.ifName,
      ...(rt.args === undefined ? {} : { args: rt.args }),
      pluginDirs: this.options.pluginDirs,
      config: pluginConfig(list, plugin, rt, prevResult),
      env: this.env,
      timeoutMs: this.timeoutMs,
    });
  }
}

/**
 * The JSON a plugin of `list` reads on stdin: its own configuration with the list's name and
 * version, `prevResult` when given, `runtimeConfig` for the capabilities it declares, and the
 * runtime's `args`.
 */
export function pluginConfig(
  list: NetworkConfigList,
  plugin: PluginConfig,
  rt: RuntimeConf,
  prevResult?: unknown,
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: list.name };
  if (list.cniVersion !== undefined) config['cniVersion'] = list.cniVersion;
  if (prevResult !== undefined) config['prevResult'] = prevResult;
  const capabilities = plugin['capabilities'];
  if (typeof capabilities === 'object' && capabilities !== null) {
    const runtimeConfig: Record<string, unknown> = {};
    for (const [name, enabled] of Object.entries(capabilities)) {
      if (enabled === true && rt.capabilityArgs[name] !== undefined) runtimeConfig[name] = rt.capabilityArgs[name];
    }
    if (Object.keys(runtimeConfig).length > 0) config['runtimeConfig'] = runtimeConfig;
  }
  if (rt.configArgs !== undefined) {
    const own = plugin['args'];
    config['args'] = { ...(typeof own === 'object' && own !== null ? own : {}), ...rt.configArgs };
  }
  return config;
}

/** Whether the network declares a plugin with capability `name` (e.g. "portMappings"). */
export function hasCapability(list: NetworkConfigList, name: string): boolean {
  return list.plugins.some((p) => {
    const capabilities = p['capabilities'];
    return typeof capabilities === 'object' && capabilities !== null && (capabilities as Record<string, unknown>)[name] === true;
  });
}

/** Whether `version` ("0.4.0") is at least `min`; an absent version is the oldest, 0.1.0. */
function atLeast(version: string | undefined, min: readonly [number, number, number]): boolean {
  const parts = (version ?? '0.1.0').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}
