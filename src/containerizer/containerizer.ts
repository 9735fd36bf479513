/**
 * The containerizer: turns a container request from the agent into a running container. It
 * decides the user, prepares the sandbox, runs the isolators (images, volumes, networks), hands
 * the process to a Launcher and watches the sandbox's disk use; no task logic.
 */
import { applyPatch, type ContainerRequest, type Isolator } from './isolator.js';
import { DEFAULT_DISK_WATCH_INTERVAL_MS, diskLimitationMessage, diskUsageBytes } from './isolators/disk/du.js';
import type {
  ContainerEntry,
  ContainerLimitation,
  ContainerProcess,
  ContainerResources,
  ExitStatus,
  LaunchSpec,
  Launcher,
  ResourceStatistics,
} from './launcher.js';
import { LaunchError, SANDBOX_PATH_IN_IMAGE } from './launcher.js';
import { prepareSandbox } from './sandbox.js';
import { agentIsRoot, agentUserName, lookupUser } from './users.js';

export interface ContainerConfig {
  containerId: string;
  /** The run's sandbox, `<work_dir>/slaves/.../runs/<containerId>`; created here. */
  directory: string;
  command: LaunchSpec['command'];
  /** Everything the process sees; USER and LOGNAME default to the user it runs as. */
  env: Record<string, string>;
  /** CommandInfo.user or FrameworkInfo.user; absent or empty means the agent's own user. */
  user?: string;
  /** Limits from the task's resources; absent: none. */
  resources?: ContainerResources;
  /** TaskInfo.container as sent (opaque ContainerInfo JSON), for the isolators. */
  containerInfo?: unknown;
  /** CommandInfo.environment alone (the image isolator puts an image's Env under it). */
  commandEnv?: Record<string, string>;
  /**
   * The container this one is nested in (a task of a task group under its executor): its sandbox,
   * for SANDBOX_PATH volumes of type PARENT, and its network namespace, which this one joins.
   */
  parent?: { directory: string; networkNamespacePath?: string };
}

/** A container of a previous agent, as its checkpoint describes it. */
export interface RecoverConfig {
  containerId: string;
  directory: string;
  /** The user it runs as (for views); absent: the agent's. */
  user?: string;
  resources?: ContainerResources;
}

export interface Container {
  readonly containerId: string;
  readonly pid: number;
  readonly directory: string;
  /** The user the process runs as. */
  readonly user: string;
  /** From the network isolator; undefined when the container shares the host's network. */
  readonly networkInfos: Record<string, unknown>[] | undefined;
  /** The network namespace it joined (a CNI network's); undefined: the host's. Nested containers join it too. */
  readonly networkNamespacePath: string | undefined;
  /** How a debug session enters it (containerizer/exec.ts); undefined: the host's namespaces. */
  readonly entry: ContainerEntry | undefined;
  /** Resolves once the container is gone and its isolators cleaned up. */
  wait(): Promise<ExitStatus>;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Usage now, with the disk measure and limit; undefined once the container is gone. */
  usage(): Promise<ResourceStatistics | undefined>;
}

export interface ContainerizerOptions {
  /** Run in order before each launch; cleaned up in reverse order. */
  isolators?: Isolator[];
  /** `--container_disk_watch_interval`. */
  diskWatchIntervalMs?: number;
  /** `--enforce_container_disk_quota`: kill a container whose sandbox outgrows its disk. */
  enforceDiskQuota?: boolean;
}

/** Called when a running container exceeds a limit the containerizer watches (disk). */
export type LimitationListener = (containerId: string, limitation: ContainerLimitation) => void;

export class Containerizer {
  private readonly isolators: Isolator[];
  private readonly diskWatchIntervalMs: number;
  private readonly enforceDiskQuota: boolean;
  private limitationListener: LimitationListener | undefined;

  constructor(
    readonly launcher: Launcher,
    options: ContainerizerOptions = {},
  ) {
    this.isolators = options.isolators ?? [];
    this.diskWatchIntervalMs = options.diskWatchIntervalMs ?? DEFAULT_DISK_WATCH_INTERVAL_MS;
    this.enforceDiskQuota = options.enforceDiskQuota ?? true;
  }

  /** Where limitations found while containers run are reported (the agent's runtime). */
  onLimitation(listener: LimitationListener): void {
    this.limitationListener = listener;
  }

  /**
   * Creates the sandbox, prepares the isolators and starts the container. Rejects with
   * LaunchError when the user does not exist, the sandbox cannot be made, an isolator refuses,
   * or the process cannot be started; whatever was prepared is cleaned up first.
   */
  async launch(config: ContainerConfig): Promise<Container> {
    const user = await this.resolveUser(config.user);
    let files;
    try {
      files = await prepareSandbox(config.directory, user);
    } catch (err) {
      throw new LaunchError(`Failed to prepare sandbox '${config.directory}': ${(err as Error).message}`);
    }
    const name = user?.name ?? agentUserName();
    const resources = config.resources ?? {};
    let spec: LaunchSpec = {
      containerId: config.containerId,
      command: config.command,
      env: { USER: name, LOGNAME: name, ...config.env },
      workDir: files.directory,
      stdoutPath: files.stdoutPath,
      stderrPath: files.stderrPath,
      resources,
      ...(user === undefined ? {} : { user }),
    };
    const request: ContainerRequest = {
      containerId: config.containerId,
      containerInfo: config.containerInfo,
      ...(config.commandEnv === undefined ? {} : { commandEnv: config.commandEnv }),
      directory: files.directory,
      resources,
      ...(user === undefined ? {} : { user }),
      ...(config.parent === undefined ? {} : { parentDirectory: config.parent.directory }),
    };

    const prepared: Isolator[] = [];
    let networkInfos: Record<string, unknown>[] | undefined;
    let process: ContainerProcess;
    try {
      for (const isolator of this.isolators) {
        prepared.push(isolator);
        const patch = await isolator.prepare(request, spec);
        if (patch === undefined) continue;
        spec = applyPatch(spec, patch);
        if (patch.networkInfos !== undefined) networkInfos = patch.networkInfos;
      }
      const parentNetns = config.parent?.networkNamespacePath;
      if (parentNetns !== undefined) spec = { ...spec, networkNamespacePath: parentNetns };
      spec = this.checkIsolation(spec, config.containerInfo);
      process = await this.launcher.launch(spec);
    } catch (err) {
      await this.cleanup(prepared, config.containerId);
      if (err instanceof LaunchError) throw err;
      throw new LaunchError(`Failed to launch container: ${(err as Error).message}`);
    }

    const disk = this.watchDisk(config.containerId, files.directory, resources.diskMb, process);
    const done = process.wait().then(async (exit) => {
      disk.stop();
      await this.cleanup(prepared, config.containerId);
      return exit;
    });
    return {
      containerId: config.containerId,
      pid: process.pid,
      directory: files.directory,
      user: name,
      networkInfos,
      networkNamespacePath: spec.networkNamespacePath,
      entry: process.entry,
      wait: () => done,
      kill: (signal) => process.kill(signal),
      usage: async () => {
        const stats = await process.usage();
        if (stats === undefined) return undefined;
        const used = disk.lastUsedBytes();
        return {
          ...stats,
          ...(resources.diskMb === undefined ? {} : { disk_limit_bytes: resources.diskMb * 1024 * 1024 }),
          ...(used === undefined ? {} : { disk_used_bytes: used }),
        };
      },
    };
  }

  /**
   * Reattaches to a container a previous agent launched (agent recovery). A running one comes
   * back as a Container whose isolators are cleaned up when it ends; one that ended meanwhile
   * gives its exit status. Its disk is not watched again, nor its network addresses reported.
   */
  async recover(config: RecoverConfig): Promise<{ kind: 'running'; container: Container } | { kind: 'exited'; status: ExitStatus } | { kind: 'gone' }> {
    const recovered = this.launcher.recover === undefined ? { kind: 'gone' as const } : await this.launcher.recover(config.containerId, config.resources);
    if (recovered.kind !== 'running') {
      await this.cleanup(this.isolators, config.containerId);
      return recovered;
    }
    const { process } = recovered;
    const done = process.wait().then(async (exit) => {
      await this.cleanup(this.isolators, config.containerId);
      return exit;
    });
    return {
      kind: 'running',
      container: {
        containerId: config.containerId,
        pid: process.pid,
        directory: config.directory,
        user: config.user ?? agentUserName(),
        networkInfos: undefined,
        networkNamespacePath: undefined,
        entry: process.entry,
        wait: () => done,
        kill: (signal) => process.kill(signal),
        usage: () => process.usage(),
      },
    };
  }

  /**
   * After recovery: removes every container of a previous agent not in `keep` (Mesos's orphans)
   * and what isolators still hold for them. Resolves with the ids of the containers removed.
   */
  async cleanupOrphans(keep: ReadonlySet<string>): Promise<string[]> {
    const removed = (await this.launcher.cleanupOrphans?.(keep)) ?? [];
    for (const isolator of this.isolators) await isolator.recover?.(keep);
    return removed;
  }

  /**
   * Refuses what the launcher cannot give, and points MESOS_SANDBOX and HOME at the sandbox as
   * a container with its own root filesystem sees it.
   */
  private checkIsolation(spec: LaunchSpec, containerInfo: unknown): LaunchSpec {
    if (wantsImage(containerInfo) && spec.rootfs === undefined) {
      throw new LaunchError(
        this.launcher.isolates
          ? 'Container images are not supported by this agent: it has no image provisioner; remove ContainerInfo.mesos.image'
          : 'Container images need --isolation=oci; this agent runs tasks with the posix launcher',
      );
    }
    if (!this.launcher.isolates) {
      const wanted = [
        spec.rootfs === undefined ? undefined : 'a root filesystem',
        (spec.mounts ?? []).length === 0 ? undefined : 'volumes',
        spec.networkNamespacePath === undefined ? undefined : 'a network namespace',
      ].filter((w) => w !== undefined);
      if (wanted.length > 0) {
        throw new LaunchError(`The container needs ${wanted.join(', ')}, which needs --isolation=oci; this agent runs posix`);
      }
      return spec;
    }
    if (spec.rootfs === undefined) return spec;
    const env = { ...spec.env };
    for (const key of ['MESOS_SANDBOX', 'HOME']) if (env[key] === spec.workDir) env[key] = SANDBOX_PATH_IN_IMAGE;
    return { ...spec, env };
  }

  /** Measures the sandbox every interval while the container runs; over its disk, reports and kills. */
  private watchDisk(containerId: string, directory: string, diskMb: number | undefined, process: ContainerProcess): DiskWatch {
    let used: number | undefined;
    let stopped = false;
    let measuring = false;
    const measure = async () => {
      if (measuring || stopped) return;
      measuring = true;
      try {
        used = await diskUsageBytes(directory);
        if (stopped || !this.enforceDiskQuota || diskMb === undefined || used <= diskMb * 1024 * 1024) return;
        stopped = true;
        clearInterval(timer);
        const limitation: ContainerLimitation = {
          reason: 'REASON_CONTAINER_LIMITATION_DISK',
          message: diskLimitationMessage(used, diskMb),
          resource: { name: 'disk', valueMb: diskMb },
        };
        // Mesos destroys a container over its disk quota at once, without a grace period.
        if (this.limitationListener === undefined) process.kill('SIGKILL');
        else this.limitationListener(containerId, limitation);
      } finally {
        measuring = false;
      }
    };
    const timer = setInterval(() => void measure(), this.diskWatchIntervalMs);
    timer.unref();
    void measure();
    return {
      stop: () => {
        stopped = true;
        clearInterval(timer);
      },
      lastUsedBytes: () => used,
    };
  }

  private async cleanup(prepared: Isolator[], containerId: string): Promise<void> {
    for (const isolator of [...prepared].reverse()) {
      await isolator.cleanup(containerId).catch(() => undefined);
    }
  }

  /**
   * NOTE: Mesos with `--switch_user` fails a task whose user it cannot switch to. An agent that
   * is not root cannot switch at all, so agora runs every task as the agent's own user then
   * (what Mesos does with `--no-switch_user`) instead of failing them all.
   */
  private async resolveUser(requested: string | undefined): Promise<{ name: string; uid: number; gid: number } | undefined> {
    if (requested === undefined || requested === '' || !agentIsRoot()) return undefined;
    const entry = await lookupUser(requested);
    if (entry === undefined) {
      throw new LaunchError(`Failed to launch container as user '${requested}': no such user on this agent`);
    }
    return { name: entry.name, uid: entry.uid, gid: entry.gid };
  }
}

interface DiskWatch {
  stop(): void;
  lastUsedBytes(): number | undefined;
}

/** Whether an (opaque) ContainerInfo asks for an image: a MESOS container with mesos.image, or DOCKER. */
function wantsImage(container: unknown): boolean {
  if (typeof container !== 'object' || container === null) return false;
  const info = container as { type?: unknown; docker?: unknown; mesos?: { image?: unknown } };
  return info.type === 'DOCKER' || info.docker !== undefined || info.mesos?.image !== undefined;
}
