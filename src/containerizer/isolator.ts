/**
 * The plug-in seam of the containerizer (Mesos's isolator lifecycle, facts 8.2): images,
 * volumes and CNI networks each prepare part of a container's launch and clean up after it.
 */
import type { ContainerResources, LaunchSpec, OciMount } from './launcher.js';

/** What a container is asked to be, as isolators see it. Read-only. */
export interface ContainerRequest {
  readonly containerId: string;
  /**
   * TaskInfo.container exactly as the framework sent it (Mesos's ContainerInfo JSON, facts 8.3:
   * type, mesos.image, docker, volumes, network_infos, hostname, ...); undefined when absent.
   */
  readonly containerInfo: unknown;
  /** CommandInfo.environment alone, which wins over an image's Env (set with containerInfo). */
  readonly commandEnv?: Readonly<Record<string, string>>;
  /** The sandbox on the host; it exists and belongs to the task's user. */
  readonly directory: string;
  /** For a nested container (a task of a group), its parent's sandbox on the host (SANDBOX_PATH PARENT volumes). */
  readonly parentDirectory?: string;
  /** The user the task runs as; undefined means the agent's own user. */
  readonly user?: { name: string; uid: number; gid: number };
  readonly resources: ContainerResources;
}

/**
 * What an isolator adds to a launch. `mounts` are appended to the spec's; every other member,
 * when present, replaces the spec's value (an image isolator returns the whole `env` it wants,
 * having merged the image's Env under the task's).
 */
export interface LaunchPatch {
  rootfs?: string;
  rootfsWritable?: boolean;
  workingDir?: string;
  command?: LaunchSpec['command'];
  env?: Record<string, string>;
  mounts?: OciMount[];
  networkNamespacePath?: string;
  hostname?: string;
  /** The user to run as (an image's User, when the task names none). */
  user?: LaunchSpec['user'];
  /**
   * Mesos NetworkInfo messages (`{ name, ip_addresses: [{ protocol, ip_address }], port_mappings }`)
   * for TaskStatus.container_status.network_infos, in place of the host's address.
   */
  networkInfos?: Record<string, unknown>[];
}

/**
 * One isolation feature. The containerizer calls `prepare` of every isolator in order before
 * the launch (images first, then volumes, then networks: each sees the spec as the earlier ones
 * left it), and `cleanup` in reverse order once the container is gone or its launch failed.
 */
export interface Isolator {
  /** Mesos's isolator name, for logs: "docker/runtime", "volume/host_path", "network/cni". */
  readonly name: string;
  /**
   * Returns what to add to the launch, or undefined when this container does not concern it.
   * Rejects with LaunchError when the container cannot be launched (a bad image, an unknown
   * network): its message becomes the TASK_FAILED message, so it names the thing and the fix.
   */
  prepare(request: ContainerRequest, spec: Readonly<LaunchSpec>): Promise<LaunchPatch | undefined>;
  /** Releases what `prepare` took for this container (CNI DEL, image references). Never rejects. */
  cleanup(containerId: string): Promise<void>;
  /**
   * At agent start, after recovery: releases what it holds for containers of a previous agent
   * that are not in `keep` (the recovered ones keep theirs). Never rejects.
   */
  recover?(keep: ReadonlySet<string>): Promise<void>;
}

/** `spec` with `patch` applied: mounts appended, everything else replaced when present. */
export function applyPatch(spec: LaunchSpec, patch: LaunchPatch): LaunchSpec {
  const { networkInfos: _reported, mounts, ...replacements } = patch;
  const next: LaunchSpec = { ...spec };
  for (const [key, value] of Object.entries(replacements)) {
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  if (mounts !== undefined && mounts.length > 0) next.mounts = [...(spec.mounts ?? []), ...mounts];
  return next;
}
