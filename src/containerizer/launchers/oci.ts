/**
 * The OCI launcher: every container is an OCI bundle run by crun (or runc) under conmon, its
 * monitor. conmon, not the agent, is the container's parent: it keeps stdout/stderr in the
 * sandbox and records the exit status, so a container outlives its agent and its end is never
 * lost. The agent starts processes through a small shell helper and waits on conmon's exit files.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { cpuStatistics } from '../isolators/cgroups/cpu.js';
import { memoryLimitation, memoryStatistics, oomRecord } from '../isolators/cgroups/mem.js';
import { cgroupPids, pidsStatistics } from '../isolators/cgroups/pids.js';
import { type HostRoot, prepareHostRoot } from '../isolators/filesystem/linux.js';
import {
  type ContainerEntry,
  type ContainerProcess,
  type ContainerResources,
  type ExitStatus,
  type LaunchSpec,
  type Launcher,
  LaunchError,
  type RecoveredContainer,
  type ResourceStatistics,
} from '../launcher.js';
import type { CgroupLayout } from '../oci/cgroups.js';
import type { OciRuntime } from '../oci/detect.js';
import { ExitWatcher } from '../oci/exits.js';
import { ProcessHelper } from '../oci/helper.js';
import { ociConfig } from '../oci/spec.js';

export interface OciLauncherOptions {
  runtime: OciRuntime;
  conmon: string;
  /** tini, run as every container's pid 1; undefined: the task itself is pid 1. */
  init: string | undefined;
  layout: CgroupLayout;
  limitSwap: boolean;
  /**
   * Bundles, the runtime's state, conmon's exit files and the host-root skeleton go here
   * (Mesos's `--runtime_dir`).
   */
  runtimeDir: string;
  /** Containers' cgroups are `/<cgroupsRoot>/<containerId>` (Mesos's `--cgroups_root`). */
  cgroupsRoot: string;
  /** 0: unlimited. */
  pidsLimit: number;
  /** `--cgroups_enable_cfs`: a hard CFS quota from cpus besides the shares. */
  enableCfs: boolean;
  hostname: string;
  logger?: Logger;
}

/** The signals conmon's 128+n exit statuses stand for. */
const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

export class OciLauncher implements Launcher {
  readonly name = 'oci';
  readonly isolates = true;

  private constructor(
    private readonly options: OciLauncherOptions,
    private readonly paths: OciPaths,
    private readonly hostRoot: HostRoot,
    private readonly helper: ProcessHelper,
    private readonly exits: ExitWatcher,
  ) {}

  /**
   * Prepares the runtime directory. Containers a previous agent left in it keep running under
   * their conmon: the agent recovers them (recover) or removes them (cleanupOrphans).
   */
  static async create(options: OciLauncherOptions): Promise<OciLauncher> {
    const paths = ociPaths(options.runtimeDir);
    for (const dir of [paths.containers, paths.exits, paths.runtimeRoot]) await mkdir(dir, { recursive: true, mode: 0o700 });
    const hostRoot = await prepareHostRoot(paths.hostRoot);
    const helper = new ProcessHelper(options.logger);
    const exits = new ExitWatcher(paths.exits);
    exits.start();
    return new OciLauncher(options, paths, hostRoot, helper, exits);
  }

  /**
   * Reattaches to a container of a previous agent: conmon still watches it (running), or it
   * recorded its exit status (exited, its OOM kill read and the container deleted), or neither.
   */
  async recover(containerId: string, resources?: ContainerResources): Promise<RecoveredContainer> {
    const dir = join(this.paths.containers, containerId);
    const pid = Number((await readFile(join(dir, 'pid'), 'utf8').catch(() => '')).trim());
    const conmonPid = Number((await readFile(join(dir, 'conmon.pid'), 'utf8').catch(() => '')).trim());
    const recorded = await this.exits.recorded(containerId);
    if (!(pid > 1) || (recorded === undefined && !(conmonPid > 1 && processExists(conmonPid)))) {
      // conmon died without a record (or the container never started): its end is unknown.
      if (recorded === undefined) {
        await this.remove(containerId);
        return { kind: 'gone' };
      }
    }
    const container = new OciContainer(pid > 1 ? pid : 0, containerId, `/${this.options.cgroupsRoot}/${containerId}`, resources?.memMb, resources?.cpus, this);
    if (recorded === undefined) return { kind: 'running', process: container };
    return { kind: 'exited', status: await container.wait() };
  }

  /** Deletes every container of a previous agent that recovery did not take (killing those still running). */
  async cleanupOrphans(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const containerId of await readdir(this.paths.containers).catch(() => [] as string[])) {
      if (keep.has(containerId)) continue;
      const status = await this.exits.recorded(containerId);
      this.options.logger?.warn(
        { containerId, ...(status === undefined ? {} : { exitStatus: status }) },
        status === undefined ? 'killing a container left running by a previous agent' : 'removing a container a previous agent left behind',
      );
      await this.remove(containerId);
      removed.push(containerId);
    }
    return removed;
  }

  /** e.g. "crun (/usr/bin/crun) under conmon" */
  describe(): string {
    const { runtime, init } = this.options;
    return `${runtime.name} (${runtime.path}) under conmon${init === undefined ? '' : `, tini as pid 1`}`;
  }

  async launch(spec: LaunchSpec): Promise<ContainerProcess> {
    const { containerId } = spec;
    const dir = join(this.paths.containers, containerId);
    const cgroupsPath = `/${this.options.cgroupsRoot}/${containerId}`;
    try {
      await mkdir(dir, { mode: 0o700 });
      const config = ociConfig({
        spec,
        cgroupsPath,
        hostRoot: this.hostRoot,
        init: this.options.init,
        pidsLimit: this.options.pidsLimit,
        enableCfs: this.options.enableCfs,
        limitSwap: this.options.limitSwap,
        hostname: this.options.hostname,
        agentUser: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
      });
      await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new LaunchError(`Failed to write the OCI bundle of container ${containerId}: ${(err as Error).message}`);
    }

    let result;
    try {
      result = await this.helper.runConmon(
        { cwd: dir, stdout: spec.stdoutPath, stderr: spec.stderrPath },
        { path: this.options.runtime.path, root: this.paths.runtimeRoot },
        containerId,
        this.conmonArgv(containerId, dir),
      );
    } catch (err) {
      await this.remove(containerId);
      throw new LaunchError(`Failed to launch container ${containerId}: ${(err as Error).message}`);
    }
    const pid = /"data": (\d+)/.exec(result.output)?.[1];
    if (result.code !== 0 || pid === undefined) {
      await this.remove(containerId);
      // The runtime's own words: in conmon's sync message, else (passthrough) in the sandbox's stderr.
      const synced = /"message": "((?:[^"\\]|\\.)*)"/.exec(result.output)?.[1] ?? result.output.replace(/\{"data": -?\d+\}/, '').trim();
      const why = synced || (await lastLine(spec.stderrPath)) || 'no reason given';
      throw new LaunchError(`Failed to start container ${containerId} with ${this.options.runtime.name}: ${why}`);
    }
    return new OciContainer(Number(pid), containerId, cgroupsPath, spec.resources?.memMb, spec.resources?.cpus, this);
  }

  /** Stops the helper and the exit watch; containers keep running under conmon. */
  close(): void {
    this.helper.close();
    this.exits.close();
  }

  /** @internal Used by OciContainer. */
  waitForExit(containerId: string): Promise<number> {
    return this.exits.wait(containerId);
  }

  /** @internal */
  get layout(): CgroupLayout {
    return this.options.layout;
  }

  /** @internal */
  get hasInit(): boolean {
    return this.options.init !== undefined;
  }

  /** @internal How a debug session enters the container: `<runtime> exec` (containerizer/exec.ts). */
  entryOf(containerId: string): ContainerEntry {
    const { runtimeRoot, containers } = this.paths;
    return { kind: 'oci', runtimePath: this.options.runtime.path, runtimeRoot, containerId, bundleDir: join(containers, containerId) };
  }

  /** @internal Whether conmon saw the OOM killer strike (its `oom` file). */
  async conmonSawOom(containerId: string): Promise<boolean> {
    return readFile(join(this.paths.containers, containerId, 'oom')).then(
      () => true,
      () => false,
    );
  }

  /** Deletes the container from the runtime (its cgroup goes with it) and forgets its files. */
  async remove(containerId: string): Promise<void> {
    const result = await this.helper
      .run([this.options.runtime.path, '--root', this.paths.runtimeRoot, 'delete', '--force', containerId])
      .catch((err: Error) => ({ code: 255, output: err.message }));
    if (result.code !== 0 && !/does not exist|not exist|No such file/i.test(result.output)) {
      this.options.logger?.warn({ containerId, output: result.output }, 'could not delete the container from the runtime');
    }
    await rm(join(this.paths.containers, containerId), { recursive: true, force: true });
    await rm(join(this.paths.exits, containerId), { force: true });
  }

  private conmonArgv(containerId: string, dir: string): string[] {
    return [
      this.options.conmon,
      '--api-version',
      '1',
      '--cid',
      containerId,
      '--cuuid',
      containerId,
      '--name',
      containerId,
      '--runtime',
      this.options.runtime.path,
      '--runtime-arg',
      `--root=${this.paths.runtimeRoot}`,
      '--bundle',
      dir,
      '--container-pidfile',
      join(dir, 'pid'),
      '--conmon-pidfile',
      join(dir, 'conmon.pid'),
      '--persist-dir',
      dir,
      '--exit-dir',
      this.paths.exits,
      // The container's stdio is conmon's: the sandbox's stdout and stderr files, unframed.
      '--log-path',
      'passthrough',
      '--log-level',
      'error',
    ];
  }

}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class OciContainer implements ContainerProcess {
  private gone = false;
  private readonly done: Promise<ExitStatus>;

  constructor(
    readonly pid: number,
    private readonly containerId: string,
    private readonly cgroupsPath: string,
    private readonly memMb: number | undefined,
    private readonly cpus: number | undefined,
    private readonly launcher: OciLauncher,
  ) {
    this.done = this.launcher.waitForExit(containerId).then(async (code) => {
      this.gone = true;
      const status = exitStatusOf(code);
      // The cgroup outlives the container until `delete`: read what the OOM killer did first.
      const limitation = await this.oomLimitation(status);
      await this.launcher.remove(containerId);
      return limitation === undefined ? status : { ...status, limitation };
    });
  }

  get entry(): ContainerEntry {
    return this.launcher.entryOf(this.containerId);
  }

  wait(): Promise<ExitStatus> {
    return this.done;
  }

  kill(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (this.gone) return;
    // SIGKILL to pid 1 ends the whole pid namespace. SIGTERM goes to tini, which passes it on;
    // without tini pid 1 ignores it unless it handles it, so every process gets it.
    if (signal === 'SIGKILL' || this.launcher.hasInit) return signalPid(this.pid, signal);
    void cgroupPids(this.launcher.layout, this.cgroupsPath).then((pids) => {
      if (!this.gone) for (const pid of pids) signalPid(pid, signal);
    });
  }

  async usage(): Promise<ResourceStatistics | undefined> {
    if (this.gone) return undefined;
    const { layout } = this.launcher;
    const [cpu, memory, pids] = await Promise.all([
      cpuStatistics(layout, this.cgroupsPath),
      memoryStatistics(layout, this.cgroupsPath),
      pidsStatistics(layout, this.cgroupsPath),
    ]);
    if (this.gone) return undefined;
    return {
      timestamp: Date.now() / 1000,
      ...(this.cpus === undefined ? {} : { cpus_limit: this.cpus }),
      ...cpu,
      ...memory,
      ...pids,
    };
  }

  private async oomLimitation(status: ExitStatus): Promise<ExitStatus['limitation']> {
    if (this.memMb === undefined) return undefined;
    const record = await oomRecord(this.launcher.layout, this.cgroupsPath);
    const struck = (record?.oomKills ?? 0) > 0 || (await this.launcher.conmonSawOom(this.containerId));
    // Mesos destroys a container the moment the OOM killer strikes in it. conmon tells only at
    // the end: a container that lived on and still succeeded is not failed after the fact.
    if (!struck || status.code === 0) return undefined;
    return memoryLimitation(this.memMb, record?.peakBytes);
  }
}

interface OciPaths {
  containers: string;
  exits: string;
  runtimeRoot: string;
  hostRoot: string;
}

function ociPaths(runtimeDir: string): OciPaths {
  return {
    containers: join(runtimeDir, 'containers'),
    exits: join(runtimeDir, 'exits'),
    runtimeRoot: join(runtimeDir, 'runtime'),
    hostRoot: join(runtimeDir, 'hostroot'),
  };
}

/** conmon's status: the exit code, or 128 + n for a container killed by signal n. */
export function exitStatusOf(code: number): ExitStatus {
  if (code > 128 && code <= 128 + 64) {
    const name = SIGNAL_NAMES.get(code - 128);
    if (name !== undefined) return { signal: name };
  }
  return { code };
}

/** The last non-empty line of a file's last 1 KB; '' when there is none. */
async function lastLine(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines = text.slice(-1024).split('\n').map((l) => l.trim());
  return lines.filter((l) => l !== '').at(-1) ?? '';
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH' && code !== 'EPERM') throw err;
  }
}
