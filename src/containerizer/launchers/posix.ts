/**
 * The posix launcher: a container is a plain process in its own session and process group,
 * with no namespaces or cgroups (Mesos's PosixLauncher). Signals go to the whole group. With a
 * state directory, each container runs under a supervisor that records its exit status
 * (posix-supervisor.ts), so an agent that restarts can recover it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { processGroupUsage } from '../isolators/posix/usage.js';
import {
  type ContainerProcess,
  type ContainerResources,
  type ExitStatus,
  type LaunchSpec,
  type Launcher,
  LaunchError,
  type RecoveredContainer,
  type ResourceStatistics,
} from '../launcher.js';
import {
  cleanupSupervisedOrphans,
  recoverSupervised,
  removeSupervisorDir,
  supervisedCommandLine,
  supervisedExit,
  supervisorDir,
} from './posix-supervisor.js';

// After the main process exits, its group is SIGKILLed; this bounds the wait for the group's
// members to die so a process stuck in uninterruptible sleep cannot hang the agent.
const GROUP_EXIT_WAIT_MS = 2_000;
const GROUP_POLL_MS = 10;

export interface PosixLauncherOptions {
  /**
   * Where supervisors record exit statuses (`<runtime_dir>/posix`). Absent: tasks are the
   * agent's own children, and end with it unrecoverably (tests, embedded agents).
   */
  stateDir?: string;
}

export class PosixLauncher implements Launcher {
  readonly name = 'posix';
  readonly isolates = false;

  constructor(private readonly options: PosixLauncherOptions = {}) {}

  launch(spec: LaunchSpec): Promise<ContainerProcess> {
    const { stateDir } = this.options;
    const supervisor = stateDir === undefined ? undefined : supervisorDir(stateDir, spec.containerId);
    let stdoutFd: number | undefined;
    let stderrFd: number | undefined;
    let file = '';
    try {
      const line = supervisor === undefined ? commandLine(spec) : supervisedCommandLine(spec, supervisor);
      file = line.file;
      const { args, argv0 } = line;
      stdoutFd = openSync(spec.stdoutPath, 'a');
      stderrFd = openSync(spec.stderrPath, 'a');
      // `detached` makes the child call setsid(), so it leads a new session and process group
      // whose id is its pid: kill(-pid) then reaches everything it forks that stays in it.
      const child = spawn(file, args, {
        argv0,
        cwd: spec.workDir,
        env: spec.env,
        detached: true,
        stdio: ['ignore', stdoutFd, stderrFd],
        ...(spec.user === undefined ? {} : { uid: spec.user.uid, gid: spec.user.gid }),
      });
      const exited = new Promise<ExitStatus>((resolve) => {
        child.once('exit', (code, signal) => {
          if (supervisor === undefined) return resolve(signal !== null ? { signal } : { code: code ?? 0 });
          resolve(supervisedExit(code, signal));
          void removeSupervisorDir(supervisor).catch(() => undefined);
        });
      });
      return new Promise((resolve, reject) => {
        child.once('error', (err: NodeJS.ErrnoException) => {
          reject(new LaunchError(`Failed to execute '${file}' in '${spec.workDir}': ${describeErrno(err)}`));
        });
        child.once('spawn', () => resolve(new PosixProcess(child.pid!, exited, spec.resources?.cpus, spec.resources?.memMb)));
      });
    } catch (err) {
      if (err instanceof LaunchError) return Promise.reject(err);
      const what = stderrFd === undefined ? 'open the output files' : 'start the process';
      return Promise.reject(new LaunchError(`Failed to ${what} of container: ${describeErrno(err as NodeJS.ErrnoException)}`));
    } finally {
      // The child has its own copies of the descriptors; ours are not needed after spawn().
      if (stdoutFd !== undefined) closeSync(stdoutFd);
      if (stderrFd !== undefined) closeSync(stderrFd);
    }
  }

  /** Recovery needs the supervisors' records: without a state directory nothing is recoverable. */
  async recover(containerId: string, resources?: ContainerResources): Promise<RecoveredContainer> {
    if (this.options.stateDir === undefined) return { kind: 'gone' };
    const limits = { ...(resources?.cpus === undefined ? {} : { cpus: resources.cpus }), ...(resources?.memMb === undefined ? {} : { memMb: resources.memMb }) };
    return recoverSupervised(this.options.stateDir, containerId, limits);
  }

  async cleanupOrphans(keep: ReadonlySet<string>): Promise<string[]> {
    return this.options.stateDir === undefined ? [] : cleanupSupervisedOrphans(this.options.stateDir, keep);
  }
}

class PosixProcess implements ContainerProcess {
  /** Set once the group has been cleaned up: its id may then be reused, so signals stop. */
  private gone = false;
  private readonly done: Promise<ExitStatus>;

  constructor(
    readonly pid: number,
    exited: Promise<ExitStatus>,
    private readonly cpus: number | undefined,
    private readonly memMb: number | undefined,
  ) {
    this.done = exited.then(async (status) => {
      this.kill('SIGKILL');
      await waitForGroupExit(this.pid);
      this.gone = true;
      return status;
    });
  }

  wait(): Promise<ExitStatus> {
    return this.done;
  }

  /** Usage from /proc, with the limits the task asked for (posix enforces none of them). */
  async usage(): Promise<ResourceStatistics | undefined> {
    if (this.gone) return undefined;
    const stats = await processGroupUsage(this.pid, Date.now() / 1000);
    if (stats === undefined) return undefined;
    return {
      ...stats,
      ...(this.cpus === undefined ? {} : { cpus_limit: this.cpus }),
      ...(this.memMb === undefined ? {} : { mem_limit_bytes: this.memMb * 1024 * 1024 }),
    };
  }

  kill(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (this.gone) return;
    try {
      process.kill(-this.pid, signal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ESRCH' && code !== 'EPERM') throw err;
    }
  }
}

function commandLine(spec: LaunchSpec): { file: string; args: string[]; argv0: string } {
  if (spec.command.shell) return { file: '/bin/sh', args: ['-c', spec.command.value], argv0: 'sh' };
  const [argv0, ...args] = spec.command.argv;
  return { file: spec.command.value, args, argv0: argv0 ?? spec.command.value };
}

function describeErrno(err: NodeJS.ErrnoException): string {
  const text = typeof err.errno === 'number' ? getSystemErrorMap().get(err.errno)?.[1] : undefined;
  return text === undefined ? err.message : `${text} (${err.code})`;
}

/** Waits until no live process is left in group `pgid` (Linux /proc; elsewhere returns at once). */
async function waitForGroupExit(pgid: number): Promise<void> {
  // The common case, a group with no process left, costs one syscall; /proc is scanned only
  // while something (perhaps just an unreaped zombie) is still in the group.
  if (!groupExists(pgid)) return;
  const deadline = Date.now() + GROUP_EXIT_WAIT_MS;
  while (Date.now() < deadline && groupExists(pgid) && liveGroupMembers(pgid) > 0) {
    await new Promise((resolve) => setTimeout(resolve, GROUP_POLL_MS));
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Counts processes of group `pgid` that are not zombies. Zombies are dead already; they linger
 * only when the init process does not reap orphans, which is not the container's doing.
 */
export function liveGroupMembers(pgid: number): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  let count = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== undefined && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') count++;
  }
  return count;
}

/** State and process group of `pid` from /proc, or undefined when it does not exist. */
export function readProcStat(pid: number): { state: string; ppid: number; pgid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', ppid: Number(fields[1]), pgid: Number(fields[2]) };
}
