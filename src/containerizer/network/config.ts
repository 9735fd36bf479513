/**
 * CNI network configurations: the `.conf`/`.conflist`/`.json` files of --network_cni_config_dir,
 * read, validated and indexed by network name. A bad file is an error that names it and its field.
 */
import { access, constants, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One plugin of a network: its JSON object as written, with `type` checked. */
export type PluginConfig = { readonly type: string } & Readonly<Record<string, unknown>>;

/**
 * A network as CNI runs it: a list of plugins called in order (a `.conf` file is a list of
 * one, as libcni reads it). Plain JSON, so it can be checkpointed and replayed for DEL.
 */
export interface NetworkConfigList {
  readonly name: string;
  /** Absent in old single-plugin files: each plugin then reads the version it defaults to. */
  readonly cniVersion?: string;
  /** The list asks runtimes never to call CHECK. */
  readonly disableCheck: boolean;
  readonly plugins: readonly PluginConfig[];
  /** The file it was read from, and whether it held a list or one plugin, for messages. */
  readonly source: string;
  readonly format: 'conf' | 'conflist';
}

/** A configuration file or directory that cannot be used; the message names the file and field. */
export class NetworkConfigError extends Error {
  override readonly name = 'NetworkConfigError';
}

// The CNI spec's rule for network names.
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const CONFIG_EXTENSIONS = ['.conf', '.conflist', '.json'];

/** Where the OS packages put the plugins: Debian's containernetworking-plugins, else upstream's. */
export const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

/**
 * Reads every configuration file of `dir` in file name order (as libcni does) and returns the
 * networks by name. Throws NetworkConfigError for an unreadable directory, a bad file, or two
 * files that define one network.
 */
export async function loadNetworkConfigs(dir: string): Promise<Map<string, NetworkConfigList>> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => !e.isDirectory() && CONFIG_EXTENSIONS.some((ext) => e.name.endsWith(ext)))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw new NetworkConfigError(`cannot read the directory '${dir}': ${(err as Error).message}`);
  }
  const networks = new Map<string, NetworkConfigList>();
  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new NetworkConfigError(`${file}: cannot read it: ${(err as Error).message}`);
    }
    const list = parseNetworkConfig(text, file);
    const existing = networks.get(list.name);
    if (existing !== undefined) {
      throw new NetworkConfigError(
        `${file}: name: network "${list.name}" is already defined by ${existing.source}; each network needs its own name`,
      );
    }
    networks.set(list.name, list);
  }
  return networks;
}

/**
 * Parses one configuration file: a `.conflist` holds `plugins`, anything else is a single
 * plugin's configuration (`type` at the top level), which becomes a list of one.
 */
export function parseNetworkConfig(text: string, file: string): NetworkConfigList {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NetworkConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new NetworkConfigError(`${file}: must hold a JSON object, not ${describe(value)}`);
  const fail = (field: string, problem: string): never => {
    throw new NetworkConfigError(`${file}: ${field}: ${problem}`);
  };
  const name = value['name'];
  if (name === undefined) fail('name', 'is missing (the name NetworkInfo.name selects the network by)');
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    fail('name', `${JSON.stringify(name)} is not a network name: a letter or digit, then letters, digits, "_", "." or "-"`);
  }
  const cniVersion = value['cniVersion'];
  if (cniVersion !== undefined && (typeof cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(cniVersion))) {
    fail('cniVersion', `${JSON.stringify(cniVersion)} is not a CNI version such as "1.0.0"`);
  }
  const isList = file.endsWith('.conflist') || ('plugins' in value && !('type' in value));
  let plugins: PluginConfig[];
  let disableCheck = false;
  if (isList) {
    const raw = value['plugins'];
    if (!Array.isArray(raw) || raw.length === 0) {
      fail('plugins', `must be a non-empty list of plugin configurations, not ${describe(raw)}`);
    }
    plugins = (raw as unknown[]).map((p, i) => checkPlugin(p, `plugins[${i}]`, fail));
    const check = value['disableCheck'];
    if (check !== undefined && typeof check !== 'boolean' && check !== 'true' && check !== 'false') {
      fail('disableCheck', `must be true or false, not ${JSON.stringify(check)}`);
    }
    disableCheck = check === true || check === 'true';
  } else {
    plugins = [checkPlugin(value, '', fail)];
  }
  return {
    name: name as string,
    ...(cniVersion === undefined ? {} : { cniVersion: cniVersion as string }),
    disableCheck,
    plugins,
    source: file,
    format: isList ? 'conflist' : 'conf',
  };
}

function checkPlugin(value: unknown, at: string, fail: (field: string, problem: string) => never): PluginConfig {
  const field = (name: string): string => (at === '' ? name : `${at}.${name}`);
  if (!isObject(value)) return fail(at, `must be a plugin configuration object, not ${describe(value)}`);
  checkPluginName(value['type'], field('type'), fail);
  const ipam = value['ipam'];
  if (ipam !== undefined) {
    if (!isObject(ipam)) fail(field('ipam'), `must be an object, not ${describe(ipam)}`);
    checkPluginName((ipam as Record<string, unknown>)['type'], field('ipam.type'), fail);
  }
  const capabilities = value['capabilities'];
  if (capabilities !== undefined) {
    if (!isObject(capabilities) || Object.values(capabilities).some((v) => typeof v !== 'boolean')) {
      fail(field('capabilities'), `must map capability names to true or false, e.g. {"portMappings": true}`);
    }
  }
  return value as PluginConfig;
}

function checkPluginName(type: unknown, field: string, fail: (field: string, problem: string) => never): void {
  if (type === undefined) fail(field, 'is missing (the file name of the plugin to run, e.g. "bridge")');
  if (typeof type !== 'string' || type === '' || type.includes('/') || type === '.' || type === '..') {
    fail(field, `${JSON.stringify(type)} is not a plugin name: the file name of a plugin in the plugins directory, e.g. "bridge"`);
  }
}

/** The plugin types a network runs: its plugins and their IPAM plugins. */
export function pluginTypes(list: NetworkConfigList): Array<{ type: string; field: string }> {
  const out: Array<{ type: string; field: string }> = [];
  list.plugins.forEach((plugin, i) => {
    const at = list.format === 'conf' ? '' : `plugins[${i}].`;
    out.push({ type: plugin.type, field: `${at}type` });
    const ipam = plugin['ipam'];
    if (isObject(ipam) && typeof ipam['type'] === 'string') out.push({ type: ipam['type'], field: `${at}ipam.type` });
  });
  return out;
}

/** The path of the executable `type` in the first of `dirs` that has it, or undefined. */
export async function findPlugin(type: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const path = join(dir, type);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** Throws NetworkConfigError naming the file and field of the first plugin none of `dirs` has. */
export async function checkPluginsExist(networks: Iterable<NetworkConfigList>, dirs: readonly string[]): Promise<void> {
  for (const list of networks) {
    for (const { type, field } of pluginTypes(list)) {
      if ((await findPlugin(type, dirs)) === undefined) {
        throw new NetworkConfigError(
          `${list.source}: ${field}: no executable plugin "${type}" in ${dirs.join(':')}; ` +
            'install it (e.g. the containernetworking-plugins package) or set --network_cni_plugins_dir',
        );
      }
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `${typeof value === 'object' ? 'an object' : JSON.stringify(value)}`;
}
