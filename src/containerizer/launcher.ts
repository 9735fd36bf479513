/**
 * The launcher seam of the containerizer: start a container's main process and supervise it.
 * Implementations (posix now, OCI/crun next) hide how; the agent sees only this interface.
 */

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
}

/** How a container's main process ended: exactly one of the two is set. */
export type ExitStatus = { code: number; signal?: undefined } | { code?: undefined; signal: string };

export interface ContainerProcess {
  readonly pid: number;
  /**
   * Resolves when the main process has exited and been reaped. Before resolving, every process
   * still in its process group is sent SIGKILL, so a container never outlives its main process.
   */
  wait(): Promise<ExitStatus>;
  /** Sends `signal` to the whole container (its process group). Harmless once it is gone. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

export interface Launcher {
  /** Which launcher this is, as Mesos's `--launcher` flag names it ("posix"). */
  readonly name: string;
  /**
   * Starts the process. Resolves once it exists; rejects with LaunchError when it could not be
   * started (missing executable, bad working directory, permission denied).
   */
  launch(spec: LaunchSpec): Promise<ContainerProcess>;
}

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
