/**
 * The OCI runtime spec (config.json) of one container, from its LaunchSpec: namespaces, cgroup
 * limits, root filesystem and mounts, user, environment. Pure: the launcher writes the result.
 */
import { cpuResources } from '../isolators/cgroups/cpu.js';
import { memoryResources } from '../isolators/cgroups/mem.js';
import { pidsResources } from '../isolators/cgroups/pids.js';
import { containerFilesystem, type HostRoot, INIT_PATH } from '../isolators/filesystem/linux.js';
import { containerNamespaces } from '../isolators/namespaces/pid.js';
import { type LaunchSpec, SANDBOX_PATH_IN_IMAGE } from '../launcher.js';

export interface OciConfigInput {
  spec: LaunchSpec;
  /** Absolute cgroup path, `/<cgroups_root>/<containerId>`. */
  cgroupsPath: string;
  hostRoot: HostRoot;
  /** tini on the host, run as pid 1 to forward signals and reap orphans; undefined: none. */
  init: string | undefined;
  /** 0: unlimited. */
  pidsLimit: number;
  /** A hard CFS quota from cpus besides the shares (`--cgroups_enable_cfs`). */
  enableCfs: boolean;
  /** Limit memory + swap too (v1 needs swap accounting, memory.memsw.*, for it). */
  limitSwap: boolean;
  /** The host's name, which a container keeps unless it asks for its own. */
  hostname: string;
  /** uid and gid when the spec names no user (the agent's own). */
  agentUser: { uid: number; gid: number };
}

/** Docker's default capabilities: what a root task gets inside its namespaces. */
const ROOT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Where the sandbox appears inside the container (Mesos: /mnt/mesos/sandbox with an image). */
export function sandboxPathInside(spec: LaunchSpec): string {
  return spec.rootfs === undefined ? spec.workDir : SANDBOX_PATH_IN_IMAGE;
}

/** The argv the container runs: the command, behind the init when there is one. */
export function containerArgs(spec: LaunchSpec, init: string | undefined): string[] {
  const command = spec.command.shell
    ? ['/bin/sh', '-c', spec.command.value]
    : // OCI execs args[0] with args as argv, so a distinct argv[0] cannot be kept.
      [spec.command.value, ...spec.command.argv.slice(1)];
  return init === undefined ? command : [INIT_PATH, '--', ...command];
}

export function ociConfig(input: OciConfigInput): Record<string, unknown> {
  const { spec } = input;
  const sandboxPath = sandboxPathInside(spec);
  const { root, mounts } = containerFilesystem({
    rootfs: spec.rootfs,
    rootfsWritable: spec.rootfsWritable ?? false,
    hostRoot: input.hostRoot,
    sandboxHostPath: spec.workDir,
    sandboxPath,
    ownNetwork: spec.networkNamespacePath !== undefined,
    init: input.init,
    extra: spec.mounts ?? [],
  });
  const uid = spec.user?.uid ?? input.agentUser.uid;
  const gid = spec.user?.gid ?? input.agentUser.gid;
  const capabilities = uid === 0 ? ROOT_CAPABILITIES : [];
  const memory = memoryResources(spec.resources?.memMb);
  const cpu = cpuResources(spec.resources?.cpus, input.enableCfs);
  const pids = pidsResources(input.pidsLimit);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid, gid },
      args: containerArgs(spec, input.init),
      env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      cwd: spec.workingDir ?? sandboxPath,
      capabilities: {
        bounding: ROOT_CAPABILITIES,
        effective: capabilities,
        permitted: capabilities,
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: false,
    },
    root,
    hostname: spec.hostname ?? input.hostname,
    mounts,
    linux: {
      namespaces: containerNamespaces(spec.networkNamespacePath),
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        ...(memory === undefined ? {} : { memory: input.limitSwap ? memory : { limit: memory.limit } }),
        ...(cpu === undefined ? {} : { cpu }),
        ...(pids === undefined ? {} : { pids }),
      },
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
