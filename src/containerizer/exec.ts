/**
 * Debug processes in running containers (Mesos's debug containers, facts 8.5): a command that
 * joins a container's namespaces, cgroup, user, working directory and environment, with pipes or
 * a pseudo-terminal for its stdio. Who sees its output and feeds its input is the agent's concern.
 *
 * - oci: `<runtime> exec` (crun, runc) with the bundle's user, working directory and environment;
 *   the runtime joins every namespace the container has, and its cgroup.
 * - posix (no entry): the container shares the host's namespaces, so the process starts beside
 *   the task, in its sandbox, as its user, with the environment of its main process.
 * - a terminal is util-linux `script` (Essential on Debian): inside the container where it has
 *   one, else on the host; the command leads a session on the pseudo-terminal. Its size is set
 *   with `stty`, at start and on every TTY_INFO.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ContainerEntry, ExitStatus, LaunchSpec } from './launcher.js';
import { LaunchError } from './launcher.js';

export interface DebugTarget {
  containerId: string;
  /** The container's main process on the host (oci: its pid 1). */
  pid: number;
  /** The sandbox on the host: the working directory of a posix debug process. */
  directory: string;
  entry: ContainerEntry | undefined;
}

export interface TerminalSize {
  rows: number;
  columns: number;
}

export interface DebugCommand {
  command: LaunchSpec['command'];
  /** Added to the container's environment, overriding what it has. */
  env: Record<string, string>;
  /** Run as this user instead of the container's (CommandInfo.user); needs a root agent. */
  user?: { uid: number; gid: number };
  /** A pseudo-terminal of this size instead of pipes; stderr then shares it with stdout. */
  tty?: TerminalSize;
}

export interface DebugProcess {
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Undefined with a terminal, which carries both streams. */
  readonly stderr: Readable | undefined;
  /** Resolves once the process has exited, the rest of its group is killed and its output drained. */
  readonly exited: Promise<ExitStatus>;
  /** Sets the terminal's size (the process gets SIGWINCH); a no-op without a terminal. */
  resize(size: TerminalSize): Promise<void>;
  /** SIGKILL to the process and everything it started. Harmless once it is gone. */
  kill(): void;
}

/** How long output may stay open after the process exited (a background child holding it). */
const DRAIN_AFTER_EXIT_MS = 2_000;
/** How often, and how far apart, a resize looks for the terminal of a command still starting. */
const TERMINAL_LOOKUPS = 40;
const TERMINAL_LOOKUP_PAUSE_MS = 50;

/** Starts `command` inside `target`. Rejects with LaunchError when it cannot be started. */
export async function startDebugProcess(target: DebugTarget, command: DebugCommand): Promise<DebugProcess> {
  const plan = target.entry === undefined ? await hostPlan(target, command) : await ociPlan(target, target.entry, command);
  const [file, ...args] = plan.argv;
  const child = spawn(file!, args, {
    cwd: plan.cwd,
    env: plan.env,
    // Its own process group (pgid = pid), so everything it leaves behind can be killed at once.
    detached: true,
    stdio: ['pipe', 'pipe', command.tty === undefined ? 'pipe' : 'ignore'],
    ...(plan.user === undefined ? {} : { uid: plan.user.uid, gid: plan.user.gid }),
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new LaunchError(`Failed to start '${file}' for a debug session: ${err.message}`)));
  });
  return new HostDebugProcess(child, command.tty !== undefined);
}

/** What to spawn on the host. */
interface Plan {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  user?: { uid: number; gid: number };
}

/** The process's argv: `/bin/sh -c value`, or the executable and its arguments after argv[0]. */
function commandArgv(command: LaunchSpec['command']): string[] {
  return command.shell ? ['/bin/sh', '-c', command.value] : [command.value, ...command.argv.slice(1)];
}

/**
 * posix: beside the task, in its sandbox, as its user, with its main process's environment; a
 * terminal is `script` around it.
 */
async function hostPlan(target: DebugTarget, command: DebugCommand): Promise<Plan> {
  const [environ, status] = await Promise.all([
    readFile(`/proc/${target.pid}/environ`, 'utf8'),
    readFile(`/proc/${target.pid}/status`, 'utf8'),
  ]).catch(() => {
    throw new LaunchError(`Container ${target.containerId} has exited (its process ${target.pid} is gone)`);
  });
  const env = { ...parseEnviron(environ), ...command.env };
  const isRoot = process.getuid?.() === 0;
  const user = command.user ?? (isRoot ? taskUser(status) : undefined);
  const argv = commandArgv(command.command);
  return {
    argv: command.tty === undefined ? argv : scriptArgv(argv, command.tty, env),
    cwd: target.directory,
    env: command.tty === undefined ? env : { ...env, SHELL: '/bin/sh' },
    ...(user === undefined || !isRoot ? {} : { user }),
  };
}

/**
 * oci: `<runtime> exec` with the bundle's working directory, user and environment. A terminal
 * is `script` inside the container when it has util-linux's (the command then leads a session
 * with the terminal as its controlling one: job control, Ctrl-C); else `script` on the host
 * around the runtime, where the command gets the terminal as its stdio only.
 */
async function ociPlan(target: DebugTarget, entry: ContainerEntry, command: DebugCommand): Promise<Plan> {
  let processSpec: { cwd?: string; user?: { uid?: number; gid?: number }; env?: string[] };
  try {
    processSpec = (JSON.parse(await readFile(join(entry.bundleDir, 'config.json'), 'utf8')) as { process?: typeof processSpec }).process ?? {};
  } catch (err) {
    throw new LaunchError(`Container ${entry.containerId} cannot be entered: its bundle is unreadable (${(err as Error).message})`);
  }
  const user = command.user ?? { uid: processSpec.user?.uid ?? 0, gid: processSpec.user?.gid ?? 0 };
  const env = { ...parseEnviron((processSpec.env ?? []).join('\0')), ...command.env };
  const scriptInside = command.tty !== undefined && (await hasScript(target.pid));
  const exec = (processEnv: Record<string, string>) => [
    entry.runtimePath,
    '--root',
    entry.runtimeRoot,
    'exec',
    '--cwd',
    processSpec.cwd ?? '/',
    '--user',
    `${user.uid}:${user.gid}`,
    // crun's --env replaces the container's environment (runc's adds to it): give all of it.
    ...Object.entries(processEnv).flatMap(([name, value]) => ['--env', `${name}=${value}`]),
    entry.containerId,
  ];
  const argv = commandArgv(command.command);
  let full: string[];
  if (command.tty === undefined) full = [...exec(env), ...argv];
  else if (scriptInside) full = [...exec({ ...env, SHELL: '/bin/sh' }), ...scriptArgv(argv, command.tty, env)];
  else full = scriptArgv([...exec(env), ...argv], command.tty, {});
  // The runtime gives the process the environment above, not its own.
  return { argv: full, cwd: entry.bundleDir, env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', SHELL: '/bin/sh' } };
}

/** Whether the container has util-linux's `script` (busybox's has no --return). */
async function hasScript(pid: number): Promise<boolean> {
  for (const path of ['usr/bin/script', 'bin/script']) {
    const info = await lstat(`/proc/${pid}/root/${path}`).catch(() => undefined);
    if (info?.isFile() === true) return true;
  }
  return false;
}

/**
 * `script` runs the command on a new pseudo-terminal (its stdio, and the controlling terminal of
 * the command's session), relays it to its own stdio, and exits with the command's status
 * (--return). `$SHELL -c` runs the line, so SHELL is /bin/sh for script and restored for the command.
 */
function scriptArgv(argv: string[], size: TerminalSize, env: Record<string, string>): string[] {
  const shell = env['SHELL'];
  const restore = shell === undefined ? 'unset SHELL; ' : `SHELL=${quote(shell)}; export SHELL; `;
  const line = `stty rows ${size.rows} cols ${size.columns} 2>/dev/null; ${restore}exec ${argv.map(quote).join(' ')}`;
  return ['script', '--quiet', '--flush', '--return', '--command', line, '/dev/null'];
}

/** A word for `sh`, single-quoted. */
export function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

class HostDebugProcess implements DebugProcess {
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable | undefined;
  readonly exited: Promise<ExitStatus>;
  /** The main process has exited and been reaped: its pid may be reused, so it gets no signal. */
  private reaped = false;
  private gone = false;
  private terminal: Promise<string | undefined> | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly tty: boolean,
  ) {
    this.pid = child.pid!;
    this.stdin = child.stdin!;
    this.stdout = child.stdout!;
    this.stderr = child.stderr ?? undefined;
    // EPIPE once the process is gone is expected: its input has nowhere to go.
    this.stdin.on('error', () => undefined);
    this.exited = new Promise<ExitStatus>((resolve) => {
      let status: ExitStatus | undefined;
      child.once('exit', (code, signal) => {
        this.reaped = true;
        status = signal !== null ? { signal } : { code: code ?? 0 };
        // The container's rule: nothing outlives its main process. The output may still hold
        // bytes; it closes once the last holder is gone, or is cut after a grace period.
        signalGroup(this.pid, 'SIGKILL');
        setTimeout(() => {
          this.stdout.destroy();
          this.stderr?.destroy();
        }, DRAIN_AFTER_EXIT_MS).unref();
      });
      child.once('close', () => {
        this.gone = true;
        resolve(status ?? { signal: 'SIGKILL' });
      });
    });
  }

  async resize(size: TerminalSize): Promise<void> {
    if (!this.tty || this.gone) return;
    this.terminal ??= this.findTerminal();
    const path = await this.terminal;
    if (path === undefined) {
      this.terminal = undefined; // Gone, or never came: look again next time.
      return;
    }
    await new Promise<void>((resolve) => {
      execFile('stty', ['-F', path, 'rows', String(size.rows), 'cols', String(size.columns)], { timeout: 5_000 }, () => resolve());
    });
  }

  kill(): void {
    if (this.gone) return;
    // A group id is not reused while the group has members, so the group may always be signalled;
    // the tree below the pid is found first (killing the top reparents the rest), and only while
    // the pid is not reaped (it may be reused then).
    if (this.reaped) return signalGroup(this.pid, 'SIGKILL');
    void descendantsOf(this.pid).then((pids) => {
      signalGroup(this.pid, 'SIGKILL');
      for (const pid of this.reaped ? pids : [this.pid, ...pids]) signalPid(pid, 'SIGKILL');
    });
  }

  /**
   * The terminal's device, as /proc/<pid>/fd/0 of the first process below us that has one as its
   * stdin (script's child): that path opens the terminal from the host also when it is a
   * container's own (script inside the container).
   */
  private async findTerminal(): Promise<string | undefined> {
    // Right after the start script may not have forked its child yet: look for a while.
    for (let attempt = 0; attempt < TERMINAL_LOOKUPS && !this.gone; attempt++) {
      for (const pid of await descendantsOf(this.pid)) {
        const path = await readlink(`/proc/${pid}/fd/0`).catch(() => undefined);
        if (path?.startsWith('/dev/pts/') === true) return `/proc/${pid}/fd/0`;
      }
      await new Promise((resolve) => setTimeout(resolve, TERMINAL_LOOKUP_PAUSE_MS));
    }
    return undefined;
  }
}

/** NUL-separated NAME=value pairs, as /proc/<pid>/environ has them. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** The effective uid and gid in /proc/<pid>/status. */
function taskUser(status: string): { uid: number; gid: number } | undefined {
  const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
  const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
  return uid === undefined || gid === undefined ? undefined : { uid: Number(uid), gid: Number(gid) };
}

/** Every descendant of `pid`, from one pass over /proc (children of threads included). */
async function descendantsOf(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === undefined || Number.isNaN(ppid)) continue;
    const siblings = parents.get(ppid) ?? [];
    siblings.push(Number(entry));
    parents.set(ppid, siblings);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  signalPid(-pgid, signal);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already, or never ours.
  }
}
