/**
 * Mesos `Volume`s of a container as bind mounts: HOST_PATH (and the legacy absolute
 * `host_path`) and SANDBOX_PATH sources, RW or RO, at absolute or sandbox-relative paths.
 * validateVolumes() is pure (the agent core may call it); prepareVolumes() touches the disk.
 */
import { chown, lstat, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { z } from 'zod';
import { describeIssues, type Volume, Volume as VolumeSchema } from '../api/index.js';
import type { ContainerRequest, Isolator, LaunchPatch } from './isolator.js';
import { LaunchError, type LaunchSpec, type OciMount, SANDBOX_PATH_IN_IMAGE } from './launcher.js';

/** A bind mount for the launcher: host `source` at `destination` inside the container. */
export interface VolumeMount {
  source: string;
  /** Absolute, as the container sees it. */
  destination: string;
  readOnly: boolean;
}

/** A volume turned into what it needs: where it comes from and where it goes. */
interface PlannedVolume {
  index: number;
  /** Absolute host path, or a path relative to the container's own sandbox or to its parent's. */
  source: { kind: 'host'; path: string } | { kind: 'sandbox'; path: string } | { kind: 'parent'; path: string };
  containerPath: string;
  readOnly: boolean;
}

/** Normalized relative path without `..` or `.`; undefined when it would leave its base. */
function cleanRelative(path: string): string | undefined {
  const clean = posix.normalize(path).replace(/\/+$/, '');
  if (clean === '' || clean === '.' || clean.startsWith('/') || clean.split('/').includes('..')) return undefined;
  return clean;
}

function hasDotDot(path: string): boolean {
  return path.split('/').includes('..');
}

/**
 * Checks `volumes` (ContainerInfo.volumes) as Mesos's validation and volume isolators do, and
 * returns the first problem as a message naming the field and the fix, or undefined.
 * `mounts` is whether the container gets bind mounts (the oci launcher); without them only
 * read-write SANDBOX_PATH volumes at relative paths work (as symlinks, as in Mesos).
 */
export function validateVolumes(volumes: readonly Volume[], ctx: { mounts: boolean; nested?: boolean }): string | undefined {
  const planned = planVolumes(volumes, ctx);
  return 'error' in planned ? planned.error : undefined;
}

/** `nested`: the container has a parent (a task of a group), whose sandbox PARENT volumes share. */
function planVolumes(volumes: readonly Volume[], ctx: { mounts: boolean; nested?: boolean }): PlannedVolume[] | { error: string } {
  const out: PlannedVolume[] = [];
  for (const [index, volume] of volumes.entries()) {
    const field = `container.volumes[${index}]`;
    if (volume.mode === undefined) return { error: `${field}.mode is missing: set it to RW or RO` };
    const cp = volume.container_path;
    if (cp === '') return { error: `${field}.container_path is empty: give a path inside the container (absolute, or relative to the sandbox)` };
    if (hasDotDot(cp)) return { error: `${field}.container_path '${cp}' contains '..': give a path that stays inside the container` };
    const given = [volume.host_path !== undefined, volume.image !== undefined, volume.source !== undefined].filter(Boolean).length;
    if (given !== 1) return { error: `${field}: set exactly one of host_path, image and source (got ${given})` };
    if (volume.image !== undefined) return { error: `${field}.image: image volumes are not supported by this agent yet; use a HOST_PATH or SANDBOX_PATH source` };

    let source: PlannedVolume['source'];
    if (volume.host_path !== undefined) {
      // Legacy: absolute is a host path, relative a directory in the sandbox (Mesos's reading).
      if (hasDotDot(volume.host_path)) return { error: `${field}.host_path '${volume.host_path}' contains '..': give a normalized path` };
      if (isAbsolute(volume.host_path)) source = { kind: 'host', path: posix.normalize(volume.host_path) };
      else {
        const rel = cleanRelative(volume.host_path);
        if (rel === undefined) return { error: `${field}.host_path '${volume.host_path}' is not a usable path in the sandbox` };
        source = { kind: 'sandbox', path: rel };
      }
    } else {
      const src = volume.source!;
      switch (src.type) {
        case 'HOST_PATH': {
          const path = src.host_path?.path;
          if (path === undefined) return { error: `${field}.source.host_path is missing: HOST_PATH volumes need source.host_path.path` };
          if (!isAbsolute(path)) return { error: `${field}.source.host_path.path '${path}' is not absolute: HOST_PATH volumes take an absolute host path` };
          if (hasDotDot(path)) return { error: `${field}.source.host_path.path '${path}' contains '..': give a normalized path` };
          if (src.host_path?.mount_propagation?.mode === 'BIDIRECTIONAL') {
            return { error: `${field}.source.host_path.mount_propagation: BIDIRECTIONAL is not supported by this agent; leave it unset` };
          }
          source = { kind: 'host', path: posix.normalize(path) };
          break;
        }
        case 'SANDBOX_PATH': {
          const sp = src.sandbox_path;
          if (sp === undefined) return { error: `${field}.source.sandbox_path is missing: SANDBOX_PATH volumes need source.sandbox_path.path` };
          if (sp.type === 'PARENT' && ctx.nested !== true) {
            return { error: `${field}.source.sandbox_path.type PARENT shares the parent container's sandbox, which only nested containers (task groups) have; use SELF` };
          }
          const rel = cleanRelative(sp.path);
          if (rel === undefined) return { error: `${field}.source.sandbox_path.path '${sp.path}' must be a relative path inside the sandbox, without '..'` };
          source = { kind: sp.type === 'PARENT' ? 'parent' : 'sandbox', path: rel };
          break;
        }
        default:
          return {
            error: `${field}.source.type ${src.type ?? '(unset)'} is not supported by this agent; use HOST_PATH or SANDBOX_PATH`,
          };
      }
    }
    const readOnly = volume.mode === 'RO';
    if (!ctx.mounts) {
      if (source.kind === 'host') {
        return { error: `${field}: HOST_PATH volumes need bind mounts, which this agent's posix isolation cannot make; run the agent with --isolation=oci (as root)` };
      }
      if (isAbsolute(cp)) {
        return { error: `${field}.container_path '${cp}' is absolute, which needs bind mounts; use a path relative to the sandbox or run the agent with --isolation=oci` };
      }
      if (readOnly) {
        return { error: `${field}.mode RO needs bind mounts, which this agent's posix isolation cannot make; use RW or run the agent with --isolation=oci` };
      }
    }
    out.push({ index, source, containerPath: cp, readOnly });
  }
  return out;
}

export interface VolumeContext {
  /** The container's sandbox on the host. */
  sandbox: string;
  /** Its parent's sandbox on the host, for a nested container (SANDBOX_PATH volumes of type PARENT). */
  parentSandbox?: string;
  /** Where the sandbox appears inside the container (the same path when it shares the host's root). */
  containerSandbox: string;
  /** Whether the container has its own root filesystem (an image). */
  hasRootfs: boolean;
  /** Whether the launcher makes bind mounts (oci), or the container shares the host's mounts (posix). */
  mounts: boolean;
  /** Owner of the sandbox, for directories made in it. */
  owner?: { uid: number; gid: number };
}

/** A volume that cannot be set up; the message names the field and the fix. */
export class VolumeError extends Error {
  override readonly name = 'VolumeError';
}

/**
 * Validates the volumes, creates what they need (SANDBOX_PATH sources, mount points in the
 * sandbox) and returns the bind mounts for the launcher. Without mounts (posix), sandbox
 * volumes become symlinks in the sandbox and no mounts are returned.
 */
export async function prepareVolumes(volumes: readonly Volume[], ctx: VolumeContext): Promise<VolumeMount[]> {
  const planned = planVolumes(volumes, { mounts: ctx.mounts, nested: ctx.parentSandbox !== undefined });
  if ('error' in planned) throw new VolumeError(planned.error);
  const mounts: VolumeMount[] = [];
  for (const volume of planned) {
    const field = `container.volumes[${volume.index}]`;
    let source: string;
    if (volume.source.kind === 'host') {
      source = volume.source.path;
      if (!(await exists(source))) {
        throw new VolumeError(`${field}: host path '${source}' does not exist on this agent; create it first or fix the path`);
      }
    } else {
      // The parent's sandbox belongs to the executor's user, as the task's does (one framework).
      const base = volume.source.kind === 'parent' ? ctx.parentSandbox! : ctx.sandbox;
      source = join(base, volume.source.path);
      await mkdirOwned(base, volume.source.path, ctx.owner);
    }
    const sourceIsDir = (await stat(source)).isDirectory();

    if (isAbsolute(volume.containerPath)) {
      // With an image the runtime makes the mount point inside the rootfs (safely); on the
      // host's root it must exist, so that no mount point is made outside the work dir (Mesos).
      if (!ctx.hasRootfs && !(await exists(volume.containerPath))) {
        throw new VolumeError(
          `${field}.container_path '${volume.containerPath}' does not exist; a container without an image shares the host's filesystem, so an absolute container_path must exist there (or use a path relative to the sandbox)`,
        );
      }
      mounts.push({ source, destination: posix.normalize(volume.containerPath), readOnly: volume.readOnly });
      continue;
    }
    const rel = cleanRelative(volume.containerPath);
    if (rel === undefined) throw new VolumeError(`${field}.container_path '${volume.containerPath}' is not a usable path in the sandbox`);
    if (!ctx.mounts) {
      // posix: Mesos links the sandbox volume into place instead of mounting it.
      const link = join(ctx.sandbox, rel);
      if (await exists(link)) throw new VolumeError(`${field}.container_path '${rel}' already exists in the sandbox`);
      await mkdir(dirname(link), { recursive: true });
      await symlink(source, link);
      continue;
    }
    // The mount point is made in the sandbox on the host: inside the container the sandbox is
    // itself a bind mount, which would hide a mount point made under the rootfs.
    const mountPoint = join(ctx.sandbox, rel);
    if (sourceIsDir) await mkdirOwned(ctx.sandbox, rel, ctx.owner);
    else {
      await mkdirOwned(ctx.sandbox, posix.dirname(rel) === '.' ? '' : posix.dirname(rel), ctx.owner);
      if (!(await exists(mountPoint))) await writeFile(mountPoint, '');
    }
    mounts.push({ source, destination: posix.join(ctx.containerSandbox, rel), readOnly: volume.readOnly });
  }
  return mounts;
}

/** mkdir -p `rel` under `base`, refusing to pass through symlinks, chowning what it makes. */
async function mkdirOwned(base: string, rel: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  let path = base;
  for (const part of rel.split('/').filter((p) => p !== '')) {
    path = join(path, part);
    const st = await lstat(path).catch(() => undefined);
    // Made meanwhile by another container (the tasks of a group share their parent's sandbox): fine.
    const made = st === undefined ? await mkdir(path, { mode: 0o755 }).then(() => true, (err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? false : Promise.reject(err))) : false;
    if (made) {
      if (owner !== undefined) {
        await chown(path, owner.uid, owner.gid);
      }
    } else if (!(st ?? (await lstat(path))).isDirectory()) {
      throw new VolumeError(`'${path}' exists in the sandbox and is not a directory`);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Mesos's volume/host_path and volume/sandbox_path isolators: ContainerInfo.volumes become
 * bind mounts (oci) or sandbox symlinks (posix). Runs after the image isolator, so it knows
 * whether the container has its own root filesystem. Nothing to clean up: mounts go with the
 * container's mount namespace, and what it made lives in the sandbox.
 */
export class VolumeIsolator implements Isolator {
  readonly name = 'volume/host_path';

  constructor(private readonly options: { isolates: boolean }) {}

  async prepare(request: ContainerRequest, spec: Readonly<LaunchSpec>): Promise<LaunchPatch | undefined> {
    const volumes = volumesOf(request.containerInfo);
    if (volumes.length === 0) return undefined;
    const hasRootfs = spec.rootfs !== undefined;
    let mounts: VolumeMount[];
    try {
      mounts = await prepareVolumes(volumes, {
        sandbox: request.directory,
        ...(request.parentDirectory === undefined ? {} : { parentSandbox: request.parentDirectory }),
        containerSandbox: hasRootfs ? SANDBOX_PATH_IN_IMAGE : request.directory,
        hasRootfs,
        mounts: this.options.isolates,
        ...(request.user === undefined ? {} : { owner: request.user }),
      });
    } catch (err) {
      throw new LaunchError(`Invalid volume: ${(err as Error).message}`);
    }
    return { mounts: mounts.map(toOciMount) };
  }

  async cleanup(): Promise<void> {}
}

export function toOciMount(mount: VolumeMount): OciMount {
  return { destination: mount.destination, type: 'bind', source: mount.source, options: ['rbind', mount.readOnly ? 'ro' : 'rw'] };
}

/** ContainerInfo.volumes of an opaque ContainerInfo, decoded; LaunchError naming the bad field. */
function volumesOf(raw: unknown): Volume[] {
  if (typeof raw !== 'object' || raw === null || !('volumes' in raw)) return [];
  const parsed = z.array(VolumeSchema).safeParse((raw as { volumes: unknown }).volumes);
  if (!parsed.success) throw new LaunchError(describeIssues(parsed.error, 'TaskInfo.container.volumes'));
  return parsed.data;
}
