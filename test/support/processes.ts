/**
 * `agora master` and `agora agent` as separate processes (the built CLI), for tests that stop
 * and restart one without the other. Each is started on a free port with its own work dir; its
 * URL is read from what it prints; it is stopped by the pid it was started with.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnCli } from './cluster.js';

export interface Daemon {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, as `--master` takes it. */
  hostPort: string;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Signals it (SIGTERM by default) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `agora master --port 0` on `workDir`. */
export function startMasterProcess(workDir: string, extraArgs: string[] = []): Promise<Daemon> {
  return startDaemon(['master', '--port', '0', '--work-dir', workDir, '--allocation-interval', '200ms', ...extraArgs], 'master');
}

/** Starts `agora agent --port 0` on `workDir`, registering with `master` ("host:port"). */
export function startAgentProcess(master: string, workDir: string, resources: string, extraArgs: string[] = []): Promise<Daemon> {
  return startDaemon(['agent', '--master', master, '--port', '0', '--work-dir', workDir, '--resources', resources, ...extraArgs], 'agent');
}

/**
 * Starts `agora <kind>` with `args` and waits for the URL it prints. A child that misses
 * `startTimeoutMs` is killed by its pid rather than left holding a port the next attempt needs
 * (the chaos test, which starts many at once on 2 cores, gives it longer).
 */
export async function startDaemon(args: string[], kind: 'master' | 'agent', { startTimeoutMs = 20_000 } = {}): Promise<Daemon> {
  const child: ChildProcess = spawnCli(args);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-200_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agora ${kind} (pid ${child.pid}) printed no URL in ${startTimeoutMs / 1000} s; killed\n${stdout}\n${stderr.slice(-2000)}`));
    }, startTimeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const match = new RegExp(`^\\s*${kind}\\s+(http://\\S+)`, 'm').exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`agora ${kind} exited (${code ?? signal}) before it was ready\n${stdout}\n${stderr.slice(-2000)}`));
    });
  });
  return {
    url,
    hostPort: url.replace(/^http:\/\//, ''),
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000));
      const result = await Promise.race([exited, timeout]);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(`agora ${kind} (pid ${child.pid}) did not stop within 15 s of ${signal}\n${stderr.slice(-2000)}`);
      }
      return result;
    },
  };
}
