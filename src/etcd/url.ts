/**
 * `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`: where agora's masters keep the leader and the
 * registry, in the shape of Mesos's `zk://h1:2181,h2:2181/mesos`. The prefix (default `/agora`)
 * lets several clusters share one etcd. Pure.
 */

export interface EtcdLocation {
  /** `http://host:port` of each member, as given. */
  endpoints: string[];
  /** Key prefix, without a trailing slash: "/agora". */
  prefix: string;
}

export const DEFAULT_ETCD_PREFIX = '/agora';

export function isEtcdUrl(text: string): boolean {
  return /^etcd:\/\//i.test(text.trim());
}

/** Parses an etcd:// URL, or returns what is wrong with it (for the flag's error message). */
export function parseEtcdUrl(text: string): EtcdLocation | { error: string } {
  const trimmed = text.trim();
  if (!isEtcdUrl(trimmed)) return { error: `"${text}" does not start with etcd://` };
  const rest = trimmed.slice('etcd://'.length);
  const slash = rest.indexOf('/');
  const hosts = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash).replace(/\/+$/, '');
  const endpoints: string[] = [];
  for (const host of hosts.split(',')) {
    const match = /^(\[[0-9a-fA-F:]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(host.trim());
    if (match === null || Number(match[2]) === 0 || Number(match[2]) > 65535) {
      return { error: `"${host}" in "${text}" is not HOST:PORT; write e.g. etcd://127.0.0.1:2379,127.0.0.2:2379` };
    }
    endpoints.push(`http://${match[1]}:${match[2]}`);
  }
  if (path !== '' && !/^(\/[A-Za-z0-9._-]+)+$/.test(path)) {
    return { error: `the key prefix "${path}" in "${text}" may hold only letters, digits, '.', '_', '-' and '/'` };
  }
  return { endpoints, prefix: path === '' ? DEFAULT_ETCD_PREFIX : path };
}

/** The well-known keys under a prefix (docs/decisions/0009-ha-on-etcd.md). */
export function etcdKeys(prefix: string): { leader: string; election: string; registry: string } {
  return { leader: `${prefix}/leader`, election: `${prefix}/election/`, registry: `${prefix}/registry/` };
}
