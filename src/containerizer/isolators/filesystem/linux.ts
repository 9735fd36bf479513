/**
 * Mesos's filesystem/linux isolator for the OCI launcher: a container's root filesystem and
 * mounts. With an image, its rootfs; without one, the host's own directories bound read-only
 * into an empty skeleton (an OCI runtime cannot pivot onto "/" itself), a private /tmp, and the
 * sandbox, the only place a task writes, at its host path.
 */
import { mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciMount } from '../../launcher.js';

/** Top-level host directories a container without an image does not get from the host. */
const NOT_FROM_HOST = new Set(['proc', 'sys', 'dev', 'tmp', 'lost+found']);

/** The host's root as a container root: an empty skeleton and the directories to bind into it. */
export interface HostRoot {
  /** Mount points and top-level symlinks only (`bin -> usr/bin`); never written by containers. */
  skeleton: string;
  /** Absolute host directories bound read-only at the same path. */
  directories: string[];
}

/**
 * Creates `skeleton` mirroring "/": a directory for each top-level host directory and the same
 * top-level symlinks. Idempotent; run once per agent start.
 */
export async function prepareHostRoot(skeleton: string): Promise<HostRoot> {
  await mkdir(skeleton, { recursive: true, mode: 0o755 });
  const directories: string[] = [];
  for (const entry of await readdir('/', { withFileTypes: true })) {
    const path = join(skeleton, entry.name);
    if (entry.isSymbolicLink()) {
      const target = await readlink(join('/', entry.name));
      await symlink(target, path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    } else if (entry.isDirectory()) {
      await mkdir(path, { recursive: true, mode: 0o755 });
      if (!NOT_FROM_HOST.has(entry.name)) directories.push(`/${entry.name}`);
    }
  }
  return { skeleton, directories };
}

export interface FilesystemInput {
  /** The image's root filesystem; undefined: the host's, from `hostRoot`. */
  rootfs: string | undefined;
  rootfsWritable: boolean;
  hostRoot: HostRoot;
  sandboxHostPath: string;
  sandboxPath: string;
  /** Whether the container has its own network namespace (it may mount a fresh sysfs then). */
  ownNetwork: boolean;
  /** A host executable bound at INIT_PATH to run as the container's pid 1 (tini). */
  init: string | undefined;
  extra: readonly OciMount[];
}

/** Where the init binary appears inside a container: /dev is the container's own tmpfs. */
export const INIT_PATH = '/dev/init';

/** config.json's root and mounts, in the order the runtime must make them. */
export function containerFilesystem(input: FilesystemInput): { root: { path: string; readonly: boolean }; mounts: OciMount[] } {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // A fresh sysfs needs the container's own network namespace; with the host's, bind the host's.
    input.ownNetwork
      ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] },
  ];
  if (input.ownNetwork) {
    mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
  }
  if (input.rootfs === undefined) {
    for (const dir of input.hostRoot.directories) mounts.push({ destination: dir, type: 'bind', source: dir, options: ['rbind', 'ro'] });
  } else if (!input.ownNetwork) {
    // The host's network: its name resolution too, as Mesos gives image containers.
    for (const file of ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname']) {
      mounts.push({ destination: file, type: 'bind', source: file, options: ['bind', 'ro'] });
    }
  }
  if (input.rootfs === undefined || !input.rootfsWritable) {
    mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
  }
  if (input.init !== undefined) mounts.push({ destination: INIT_PATH, type: 'bind', source: input.init, options: ['bind', 'ro'] });
  mounts.push({ destination: input.sandboxPath, type: 'bind', source: input.sandboxHostPath, options: ['rbind', 'rw'] });
  mounts.push(...input.extra);
  return {
    root: input.rootfs === undefined ? { path: input.hostRoot.skeleton, readonly: true } : { path: input.rootfs, readonly: !input.rootfsWritable },
    mounts,
  };
}
