/**
 * `agora master` / `agora agent` processes for the chaos test, as test/support/processes.ts
 * starts them, but with a start-up bound that suits a loaded 2-core machine (many Node processes
 * start at once here), and a child that misses it is killed by its pid rather than left running
 * on a port the next attempt needs.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnCli } from '../support/cluster.js';
import type { Daemon } from '../support/processes.js';

const START_TIMEOUT_MS = 60_000;

export function startDaemon(args: string[], kind: 'master' | 'agent'): Promise<Daemon> {
  const child: ChildProcess = spawnCli(args);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-200_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agora ${kind} (pid ${child.pid}) printed no URL in ${START_TIMEOUT_MS / 1000} s; killed\n${stdout}\n${stderr.slice(-2000)}`));
    }, START_TIMEOUT_MS);
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
  return url.then((base) => ({
    url: base,
    hostPort: base.replace(/^http:\/\//, ''),
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
  }));
}
