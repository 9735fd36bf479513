/**
 * The launcher seam of the containerizer: start a container's main process and supervise it.
 * Implementations (posix, oci) hide how; the agent sees only this interface.
 */

/**
 * A mount in OCI runtime-spec form (config.json `mounts[]`). Volumes become these: e.g.
 * `{ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] }`.
 */
export interface OciMount {
  /** Absolute path inside the container (with an image: inside its root filesystem). */
  destination: string;
  /** `bind`, `tmpfs`, ...; bind mounts need `rbind` or `bind` in options. */
  type: string;
  /** For bind mounts, the absolute host path. */
  source: string;
  options: string[];
}

/**
 * Limits from the task's resources (cpus, mem, disk). An absent member is not limited. The
 * posix launcher enforces none of them; the oci launcher turns cpus and mem into cgroup limits,
 * and the containerizer watches disk.
 */
export interface ContainerResources {
  cpus?: number;
  memMb?: number;
  diskMb?: number;
}

/**
 * Where the sandbox appears inside a container that has its own root filesystem (Mesos's
 * `--sandbox_directory`); without one the sandbox keeps its host path.
 */
export const SANDBOX_PATH_IN_IMAGE = '/mnt/mesos/sandbox';

/** What to run. The command is already resolved: no defaults are applied by a launcher. */
export interface LaunchSpec {
  /** Used in logs and error messages only; launchers keep no state keyed by it. */
  containerId: string;
  /** `shell`: `/bin/sh -c value`; `argv`: exec `value` with `argv` (argv[0] is the process name). */
  command: { shell: true; value: string } | { shell: false; value: string; argv: string[] };
  /** The complete environment: launchers never add the agent's own. */
  env: Record<string, string>;
  /** The sandbox, which becomes the working directory. */
  workDir: string;
  /** Files that receive the process's standard output and error (appended to). */
  stdoutPath: string;
  stderrPath: string;
  /** Switch to this user before exec; absent means the agent's own user. */
  user?: { name: string; uid: number; gid: number };
  /** Limits from the task's resources. */
  resources?: ContainerResources;

  // Isolation: only launchers with `isolates: true` (oci) honour the fields below; the
  // containerizer refuses a spec that sets them when its launcher cannot.

  /**
   * The container's root filesystem (a directory on the host, e.g. an unpacked image; it is
   * mounted read-only and never written). Absent: the host's own root, read-only, with a private
   * /tmp. With a rootfs the sandbox is mounted at SANDBOX_PATH_IN_IMAGE, else at its host path.
   */
  rootfs?: string;
  /** The rootfs is this container's own copy (e.g. an overlay), which it may write. */
  rootfsWritable?: boolean;
  /**
   * The working directory inside the container (an image's WorkingDir). Absent: the sandbox as
   * the container sees it.
   */
  workingDir?: string;
  /** Extra mounts (volumes), made after the root filesystem, /tmp and the sandbox, in order. */
  mounts?: OciMount[];
  /**
   * A network namespace to join (e.g. `/var/run/netns/<name>`, set up by CNI). Absent: the
   * host's network.
   */
  networkNamespacePath?: string;
  /** The container's hostname (ContainerInfo.hostname); absent: the host's. */
  hostname?: string;
}

/**
 * A resource the container used beyond its limit, found by the launcher (memory: the OOM killer
 * struck) or the containerizer (disk: a periodic measure). The task fails with `reason`.
 */
export interface ContainerLimitation {
  reason: 'REASON_CONTAINER_LIMITATION_MEMORY' | 'REASON_CONTAINER_LIMITATION_DISK';
  /** For the task's status, e.g. "Memory limit exceeded: Requested: 32MB Maximum Used: 32MB". */
  message: string;
  /** The resource over its limit, as TaskStatus.limitation names it. */
  resource: { name: 'mem' | 'disk'; valueMb: number };
}

/**
 * How a container's main process ended: exactly one of code and signal is set. `limitation` is
 * set when the launcher knows the container died of one (the OOM killer).
 */
export type ExitStatus = ({ code: number; signal?: undefined } | { code?: undefined; signal: string }) & {
  limitation?: ContainerLimitation;
};

/**
 * How another process enters a running container (a debug session, src/containerizer/exec.ts):
 * `oci` through the runtime's `exec` with the bundle's user and working directory. A container
 * without one shares the host's namespaces (posix): a process started beside it is inside it.
 */
export interface ContainerEntry {
  kind: 'oci';
  /** The runtime binary (crun, runc) and its `--root`. */
  runtimePath: string;
  runtimeRoot: string;
  containerId: string;
  /** The bundle directory, holding config.json. */
  bundleDir: string;
}

export interface ContainerProcess {
  readonly pid: number;
  /** How to start a process inside the container; undefined: it shares the host's namespaces. */
  readonly entry?: ContainerEntry;
  /**
   * Resolves when the main process has exited and been reaped. Before resolving, every process
   * still in its process group is sent SIGKILL, so a container never outlives its main process.
   */
  wait(): Promise<ExitStatus>;
  /** Sends `signal` to the whole container (its process group). Harmless once it is gone. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  /**
   * What the container uses now (Mesos's ResourceStatistics), from its cgroups or, for posix,
   * from /proc. Undefined once it is gone.
   */
  usage(): Promise<ResourceStatistics | undefined>;
}

/**
 * Mesos's ResourceStatistics (facts 4.3), the members agora measures; absent = not measured.
 * Times in seconds, sizes in bytes.
 */
export interface ResourceStatistics {
  timestamp: number;
  processes?: number;
  threads?: number;
  cpus_limit?: number;
  cpus_user_time_secs?: number;
  cpus_system_time_secs?: number;
  cpus_nr_periods?: number;
  cpus_nr_throttled?: number;
  cpus_throttled_time_secs?: number;
  mem_limit_bytes?: number;
  mem_total_bytes?: number;
  mem_rss_bytes?: number;
  mem_anon_bytes?: number;
  mem_file_bytes?: number;
  mem_cache_bytes?: number;
  mem_mapped_file_bytes?: number;
  mem_swap_bytes?: number;
  disk_limit_bytes?: number;
  disk_used_bytes?: number;
}

export interface Launcher {
  /** Which launcher this is, as agora's `--isolation` flag names it ("posix", "oci"). */
  readonly name: string;
  /** Whether it honours LaunchSpec's isolation fields (rootfs, mounts, network namespace). */
  readonly isolates: boolean;
  /**
   * Starts the process. Resolves once it exists; rejects with LaunchError when it could not be
   * started (missing executable, bad working directory, permission denied).
   */
  launch(spec: LaunchSpec): Promise<ContainerProcess>;
  /**
   * Reattaches to a container a previous agent launched (agent recovery): it still runs, it
   * ended and its exit status was recorded, or nothing is known of it any more. Launchers
   * without it cannot recover containers.
   */
  recover?(containerId: string, resources?: ContainerResources): Promise<RecoveredContainer>;
  /**
   * Kills and forgets every container a previous agent left that is not in `keep` (Mesos's
   * orphans: containers of frameworks that do not checkpoint, or that recovery gave up on).
   * Resolves with the ids it removed.
   */
  cleanupOrphans?(keep: ReadonlySet<string>): Promise<string[]>;
}

/** What recovery found of a container a previous agent launched. */
export type RecoveredContainer =
  | { kind: 'running'; process: ContainerProcess }
  | { kind: 'exited'; status: ExitStatus }
  /** Neither running nor recorded: its end (and how) is unknown. */
  | { kind: 'gone' };

/** A container that could not be started; the message carries the OS error for the user. */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
}

// strsignal(3) texts on Linux, which Mesos's command executor puts in its messages.
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
};

/** "exited with status 1" or "terminated with signal Killed", as Mesos's WSTRINGIFY words it. */
export function describeExit(exit: ExitStatus): string {
  if (exit.signal !== undefined) return `terminated with signal ${SIGNAL_TEXT[exit.signal] ?? exit.signal}`;
  return `exited with status ${exit.code}`;
}
