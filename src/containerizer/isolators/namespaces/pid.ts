/**
 * Mesos's namespaces/pid and namespaces/ipc isolators, and the mount and uts namespaces the
 * OCI launcher always gives: the namespaces of a container's config.json.
 */

export interface OciNamespace {
  type: 'pid' | 'mount' | 'ipc' | 'uts' | 'network' | 'cgroup' | 'user';
  path?: string;
}

/**
 * A private pid, mount, ipc and uts namespace; the network namespace at `networkNamespacePath`
 * when given (CNI), else the host's network (no network entry).
 */
export function containerNamespaces(networkNamespacePath: string | undefined): OciNamespace[] {
  const namespaces: OciNamespace[] = [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }];
  if (networkNamespacePath !== undefined) namespaces.push({ type: 'network', path: networkNamespacePath });
  return namespaces;
}
