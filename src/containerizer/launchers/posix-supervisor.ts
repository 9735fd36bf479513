/**
 * The posix launcher's supervisor: a small /bin/sh that leads the container's process group,
 * runs the task in the foreground and records its exit status in a file, so the status outlives
 * the agent (as conmon's exit files do for oci). Also reattaches to supervised containers after
 * an agent restart, and kills those nobody recovered.
 */
import { accessSync, chownSync, constants, mkdirSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { processGroupUsage } from '../isolators/posix/usage.js';
import { type ContainerProcess, type ExitStatus, type LaunchSpec, LaunchError, type RecoveredContainer, type ResourceStatistics } from '../launcher.js';
import { exitStatusOf } from './oci.js';

// $1: the exit file; the rest: the task. The supervisor first records its own pid beside the
// exit file (a builtin, before the task may run: an agent killed at any point of a launch leaves
// a container it can find), and gives up (125) if its directory is gone, removed by an orphan
// cleanup that could not see it yet. TERM is caught (the task gets it with its group and
// the supervisor must live to record the status); a caught signal is reset to its default in
// the forked task. A task killed by signal n is recorded as 128+n, as conmon does. NOTE: the
// status is one write(2) of a few bytes, not a rename: a `mv` would cost a fork and exec on
// every task's end. A reader that finds the file empty or without its newline takes it as not
// written yet, and reads it again once the supervisor is gone (recoverSupervised).
const SUPERVISOR = 'f=$1; shift; printf "%d\\n" $$ >"${f%exit}pid" || exit 125; trap : TERM; "$@"; rc=$?; printf "%d\\n" "$rc" >"$f"; exit $rc';
// A shell command runs in a subshell of the supervisor (a fork, no exec of a second shell), with
// $0 "sh" and no positional parameters, as `/bin/sh -c` would give it.
const SUPERVISOR_SHELL = 'f=$1; c=$2; shift 2; printf "%d\\n" $$ >"${f%exit}pid" || exit 125; trap : TERM; (eval "$c"); rc=$?; printf "%d\\n" "$rc" >"$f"; exit $rc';
// The argv form with its own argv[0] needs bash's `exec -a`; dash, the usual /bin/sh, has none.
const SUPERVISOR_ARGV0 = 'f=$1; a=$2; shift 2; printf "%d\\n" $$ >"${f%exit}pid" || exit 125; trap : TERM; (exec -a "$a" "$@"); rc=$?; printf "%d\\n" "$rc" >"$f"; exit $rc';
const SUPERVISOR_NAME = 'agora-supervisor';
const EXIT_FILE = 'exit';
const PID_FILE = 'pid';
/** How often a recovered container (not the agent's child) is checked for its end. */
const RECOVERED_POLL_MS = 200;

/** Where a supervised container's files go: `<stateDir>/<containerId>/{exit,pid}`. */
export function supervisorDir(stateDir: string, containerId: string): string {
  return join(stateDir, containerId);
}

/**
 * The command line that runs `spec` under a supervisor recording into `dir`. The directory is
 * made here (owned by the task's user, who writes the status); an executable that cannot run
 * is refused here too, as spawning it directly would have been.
 */
export function supervisedCommandLine(spec: LaunchSpec, dir: string): { file: string; args: string[]; argv0: string } {
  if (!spec.command.shell) checkExecutable(spec.command.value, spec.env['PATH'], spec.workDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (spec.user !== undefined) chownSync(dir, spec.user.uid, spec.user.gid);
  const exitPath = join(dir, EXIT_FILE);
  if (spec.command.shell) return { file: '/bin/sh', args: ['-c', SUPERVISOR_SHELL, 'sh', exitPath, spec.command.value], argv0: 'sh' };
  const { value, argv } = spec.command;
  const [argv0, ...rest] = argv;
  if (argv0 === undefined || argv0 === value) return { file: '/bin/sh', args: ['-c', SUPERVISOR, SUPERVISOR_NAME, exitPath, value, ...rest], argv0: 'sh' };
  return { file: '/bin/bash', args: ['-c', SUPERVISOR_ARGV0, SUPERVISOR_NAME, exitPath, argv0, value, ...rest], argv0: 'bash' };
}

/** The exit status the supervisor reported to its parent: its own exit code mirrors the task's. */
export function supervisedExit(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
  // The supervisor only dies of a signal it cannot catch (SIGKILL to the group): the task got it too.
  if (signal !== null) return { signal };
  return exitStatusOf(code ?? 0);
}

/** Forgets a supervised container's files once its status is known. */
export function removeSupervisorDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Whether `pid` is this container's supervisor: alive, leading its group, with this exit file on its command line. */
async function isSupervisor(pid: number, dir: string): Promise<boolean> {
  const [cmdline, stat] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
  ]);
  if (!cmdline.split('\0').includes(join(dir, EXIT_FILE))) return false;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[2]) === pid;
}

async function recordedStatus(dir: string): Promise<ExitStatus | undefined> {
  const text = await readFile(join(dir, EXIT_FILE), 'utf8').catch(() => '');
  return /^\d+\n$/.test(text) ? exitStatusOf(Number(text.trim())) : undefined;
}

/**
 * The supervisor's pid: from the pid file it writes first, or (an agent killed between the spawn
 * and that write) by looking for its exit file on the command lines of /proc.
 */
async function recordedPid(dir: string): Promise<number | undefined> {
  const pid = Number((await readFile(join(dir, PID_FILE), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 1) return pid;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (/^\d+$/.test(entry) && (await isSupervisor(Number(entry), dir))) return Number(entry);
  }
  return undefined;
}

/** Reattaches to a supervised container a previous agent started in `stateDir`. */
export async function recoverSupervised(
  stateDir: string,
  containerId: string,
  limits: { cpus?: number; memMb?: number },
): Promise<RecoveredContainer> {
  const dir = supervisorDir(stateDir, containerId);
  const status = await recordedStatus(dir);
  if (status !== undefined) {
    await removeSupervisorDir(dir);
    return { kind: 'exited', status };
  }
  const pid = await recordedPid(dir);
  if (pid === undefined || !(await isSupervisor(pid, dir))) {
    // It may have ended between the two reads.
    const late = await recordedStatus(dir);
    await removeSupervisorDir(dir);
    return late === undefined ? { kind: 'gone' } : { kind: 'exited', status: late };
  }
  return { kind: 'running', process: new RecoveredPosixProcess(pid, dir, limits) };
}

/** SIGKILLs the group of every supervised container in `stateDir` not in `keep`, and forgets it. */
export async function cleanupSupervisedOrphans(stateDir: string, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const containerId of await readdir(stateDir).catch(() => [] as string[])) {
    if (keep.has(containerId)) continue;
    const dir = supervisorDir(stateDir, containerId);
    const pid = await recordedPid(dir);
    if (pid !== undefined && (await isSupervisor(pid, dir))) signalGroup(pid, 'SIGKILL');
    await removeSupervisorDir(dir);
    removed.push(containerId);
  }
  return removed;
}

/**
 * A container the agent did not start in this life: not its child, so its end is seen in the
 * exit file (or, if the group was SIGKILLed with its supervisor, in the supervisor's absence).
 */
class RecoveredPosixProcess implements ContainerProcess {
  private gone = false;
  private readonly done: Promise<ExitStatus>;

  constructor(
    readonly pid: number,
    private readonly dir: string,
    private readonly limits: { cpus?: number; memMb?: number },
  ) {
    this.done = this.watch();
  }

  wait(): Promise<ExitStatus> {
    return this.done;
  }

  kill(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (!this.gone) signalGroup(this.pid, signal);
  }

  async usage(): Promise<ResourceStatistics | undefined> {
    if (this.gone) return undefined;
    const stats = await processGroupUsage(this.pid, Date.now() / 1000);
    if (stats === undefined) return undefined;
    const { cpus, memMb } = this.limits;
    return { ...stats, ...(cpus === undefined ? {} : { cpus_limit: cpus }), ...(memMb === undefined ? {} : { mem_limit_bytes: memMb * 1024 * 1024 }) };
  }

  private async watch(): Promise<ExitStatus> {
    for (;;) {
      await new Promise((r) => setTimeout(r, RECOVERED_POLL_MS));
      let status = await recordedStatus(this.dir);
      if (status === undefined && !(await isSupervisor(this.pid, this.dir))) {
        status = (await recordedStatus(this.dir)) ?? { signal: 'SIGKILL' };
      }
      if (status === undefined) continue;
      // As for the agent's own children: nothing of the group outlives its main process.
      signalGroup(this.pid, 'SIGKILL');
      this.gone = true;
      await removeSupervisorDir(this.dir);
      return status;
    }
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Refuses an executable that cannot be run, with the OS's words, before the supervisor starts
 * (the supervisor would only report exit status 126 or 127 later).
 */
function checkExecutable(value: string, path: string | undefined, cwd: string): void {
  const candidates = value.includes('/')
    ? [value.startsWith('/') ? value : join(cwd, value)]
    : (path ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, value));
  let lastError: NodeJS.ErrnoException | undefined;
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return;
    } catch (err) {
      lastError = err as NodeJS.ErrnoException;
    }
  }
  const code = lastError?.code ?? 'ENOENT';
  const text = code === 'EACCES' ? 'Permission denied' : 'No such file or directory';
  throw new LaunchError(`Failed to execute '${value}' in '${cwd}': ${text} (${code})`);
}
