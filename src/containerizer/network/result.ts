/**
 * CNI results: what a plugin prints after ADD, in every spec version the OS plugins speak
 * (0.1.0/0.2.0 `ip4`/`ip6`, 0.3.0 and later `interfaces`/`ips`), read into one shape.
 */
import { isIP } from 'node:net';

export interface CniInterface {
  name: string;
  mac?: string;
  /** Set for interfaces inside the container (the network namespace's path). */
  sandbox?: string;
}

export interface CniIp {
  version: 4 | 6;
  /** With its prefix length, as the plugin gave it: "10.88.3.2/24". */
  address: string;
  /** The address alone: "10.88.3.2". */
  ip: string;
  gateway?: string;
  /** Index into `interfaces`, when the plugin says which interface has the address. */
  interface?: number;
}

export interface CniResult {
  cniVersion?: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: Array<{ dst: string; gw?: string }>;
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** A result that does not follow the spec; the message names the field. */
export class CniResultError extends Error {
  override readonly name = 'CniResultError';
}

/** Reads a plugin's result JSON. Throws CniResultError naming the first bad field. */
export function parseCniResult(raw: unknown): CniResult {
  if (!isObject(raw)) throw new CniResultError(`the result is not a JSON object`);
  const cniVersion = typeof raw['cniVersion'] === 'string' ? raw['cniVersion'] : undefined;
  const result: CniResult = { ...(cniVersion === undefined ? {} : { cniVersion }), interfaces: [], ips: [], routes: [] };
  if ('ip4' in raw || 'ip6' in raw) {
    // 0.1.0 / 0.2.0: one address per family, no interfaces.
    for (const version of [4, 6] as const) {
      const entry = raw[`ip${version}`];
      if (entry === undefined) continue;
      if (!isObject(entry)) throw new CniResultError(`ip${version}: not an object`);
      result.ips.push(readIp({ ...entry, address: entry['ip'] }, `ip${version}.ip`, version));
      for (const [i, route] of list(entry['routes'], `ip${version}.routes`).entries()) {
        result.routes.push(readRoute(route, `ip${version}.routes[${i}]`));
      }
    }
  } else {
    for (const [i, entry] of list(raw['interfaces'], 'interfaces').entries()) {
      if (!isObject(entry) || typeof entry['name'] !== 'string') throw new CniResultError(`interfaces[${i}].name: missing`);
      result.interfaces.push({
        name: entry['name'],
        ...(typeof entry['mac'] === 'string' ? { mac: entry['mac'] } : {}),
        ...(typeof entry['sandbox'] === 'string' && entry['sandbox'] !== '' ? { sandbox: entry['sandbox'] } : {}),
      });
    }
    for (const [i, entry] of list(raw['ips'], 'ips').entries()) {
      if (!isObject(entry)) throw new CniResultError(`ips[${i}]: not an object`);
      const ip = readIp(entry, `ips[${i}].address`);
      const index = entry['interface'];
      if (index !== undefined) {
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= result.interfaces.length) {
          throw new CniResultError(`ips[${i}].interface: ${JSON.stringify(index)} is not an index into interfaces`);
        }
        ip.interface = index;
      }
      result.ips.push(ip);
    }
    for (const [i, route] of list(raw['routes'], 'routes').entries()) result.routes.push(readRoute(route, `routes[${i}]`));
  }
  if (isObject(raw['dns'])) result.dns = raw['dns'] as NonNullable<CniResult['dns']>;
  return result;
}

/**
 * The addresses the container has: those on an interface inside its namespace, or every
 * address when the plugin does not say which interface has it. IPv4 first, as Mesos lists them.
 */
export function containerIps(result: CniResult): CniIp[] {
  const inside = result.ips.filter((ip) => ip.interface === undefined || result.interfaces[ip.interface]?.sandbox !== undefined);
  return [...inside.filter((ip) => ip.version === 4), ...inside.filter((ip) => ip.version === 6)];
}

function readIp(entry: Record<string, unknown>, field: string, family?: 4 | 6): CniIp {
  const address = entry['address'];
  if (typeof address !== 'string') throw new CniResultError(`${field}: missing`);
  const slash = address.indexOf('/');
  const ip = slash === -1 ? address : address.slice(0, slash);
  const prefix = slash === -1 ? '' : address.slice(slash + 1);
  const version = isIP(ip);
  if (version === 0 || !/^\d{1,3}$/.test(prefix)) {
    throw new CniResultError(`${field}: ${JSON.stringify(address)} is not an address with its prefix length, such as "10.88.0.2/24"`);
  }
  if (family !== undefined && version !== family) throw new CniResultError(`${field}: ${address} is not an IPv${family} address`);
  const gateway = entry['gateway'];
  return {
    version: version as 4 | 6,
    address,
    ip,
    ...(typeof gateway === 'string' && gateway !== '' ? { gateway } : {}),
  };
}

function readRoute(route: unknown, field: string): { dst: string; gw?: string } {
  if (!isObject(route) || typeof route['dst'] !== 'string') throw new CniResultError(`${field}.dst: missing`);
  return { dst: route['dst'], ...(typeof route['gw'] === 'string' ? { gw: route['gw'] } : {}) };
}

function list(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new CniResultError(`${field}: not a list`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
