/**
 * Runs probes against a task's process as Mesos's checker library does: a COMMAND in the task's
 * namespaces (mount, uts, ipc, network, pid), as its user, in its working directory, with its
 * environment; HTTP and TCP to 127.0.0.1 inside its network namespace. Everything is read from
 * /proc/<pid>, so the same runner serves a posix process (no namespaces of its own: the probe
 * runs here) and an OCI container (entered with nsenter).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import type { RunProbe } from './driver.js';
import { localNetProbes, NET_PROBE_MAIN, type NetProbeRequest } from './net-probe.js';
import { type Probe, probeUrl } from './policy.js';
import type { ProbeResult } from './results.js';

export interface ProbeTarget {
  /**
   * The task's main process, as the host sees it (a container's pid 1). Absent: probes run as
   * this process, here (tests, or a task that is this process's neighbour).
   */
  pid?: number;
  /** Overrides what /proc/<pid> says: the environment COMMAND checks get (before their own variables). */
  env?: Record<string, string>;
  /** Overrides the user of /proc/<pid>; switching needs root. */
  user?: { uid: number; gid: number };
}

export interface RunnerOptions {
  /** util-linux nsenter; default "nsenter" from PATH. */
  nsenter?: string;
  /** The node binary that probes inside a network namespace; default this process's. */
  node?: string;
}

/** Bytes of a COMMAND probe's output kept for the failure message. */
const OUTPUT_TAIL_BYTES = 512;

const NAMESPACES = [
  { proc: 'mnt', flag: '--mount' },
  { proc: 'uts', flag: '--uts' },
  { proc: 'ipc', flag: '--ipc' },
  { proc: 'net', flag: '--net' },
  { proc: 'pid', flag: '--pid' },
] as const;

type Namespace = (typeof NAMESPACES)[number]['proc'];

/** What /proc tells about the target: the namespaces it does not share with us, its user and environment. */
interface TargetView {
  pid: number;
  ownNamespaces: Set<Namespace>;
  uid: number;
  gid: number;
  env: Record<string, string>;
  cwd: string | undefined;
}

/** A RunProbe for `target` (for the driver, or the agent's shell). */
export function probeRunner(target: ProbeTarget, options: RunnerOptions = {}): RunProbe {
  return (probe, signal) => runProbe(probe, target, signal, options);
}

export async function runProbe(probe: Probe, target: ProbeTarget, signal: AbortSignal, options: RunnerOptions = {}): Promise<ProbeResult> {
  let view: TargetView | undefined;
  if (target.pid !== undefined) {
    try {
      view = await inspect(target.pid);
    } catch (err) {
      return { type: 'failed', message: `cannot inspect the task's process ${target.pid}: ${(err as Error).message}` };
    }
  }
  if (signal.aborted) return { type: 'failed', message: 'aborted' };
  switch (probe.type) {
    case 'COMMAND':
      return runCommand(probe, target, view, signal, options);
    case 'HTTP':
    case 'TCP': {
      const request: NetProbeRequest =
        probe.type === 'HTTP' ? { type: 'HTTP', url: probeUrl(probe), host: probe.host, port: probe.port } : { type: 'TCP', host: probe.host, port: probe.port };
      if (view?.ownNamespaces.has('net')) return runNetProbeIn(view.pid, request, signal, options);
      const probes = localNetProbes();
      return request.type === 'HTTP' ? probes.http(request.url!, signal) : probes.tcp(request.host, request.port, signal);
    }
  }
}

async function runCommand(
  probe: Extract<Probe, { type: 'COMMAND' }>,
  target: ProbeTarget,
  view: TargetView | undefined,
  signal: AbortSignal,
  options: RunnerOptions,
): Promise<ProbeResult> {
  const { command } = probe;
  const env: Record<string, string> = { ...(view?.env ?? {}), ...(target.env ?? {}) };
  if (view === undefined && target.env === undefined) Object.assign(env, process.env);
  for (const variable of command.environment?.variables ?? []) env[variable.name] = variable.value ?? '';
  const argv = command.shell === false ? [command.value ?? '', ...(command.arguments ?? []).slice(1)] : ['/bin/sh', '-c', command.value ?? ''];
  const user = target.user ?? (view === undefined ? undefined : { uid: view.uid, gid: view.gid });
  const asRoot = process.getuid?.() === 0;
  const switchUser = asRoot && user !== undefined && (user.uid !== process.getuid?.() || user.gid !== process.getgid?.());

  if (view !== undefined && view.ownNamespaces.size > 0) {
    // nsenter enters the namespaces, then (--wd) the task's working directory as the task sees
    // it and (-S/-G) its user, and execs the command inside: its binaries are the task's.
    const flags = NAMESPACES.filter((ns) => view.ownNamespaces.has(ns.proc)).map((ns) => ns.flag);
    const userFlags = switchUser ? [`--setuid=${user!.uid}`, `--setgid=${user!.gid}`] : [];
    const nsenter = [options.nsenter ?? 'nsenter', `--target=${view.pid}`, ...flags, '--wd', ...userFlags, '--', ...argv];
    return collectExit(spawnGroup(nsenter[0]!, nsenter.slice(1), { env }), signal);
  }
  return collectExit(
    spawnGroup(argv[0]!, argv.slice(1), {
      env,
      ...(view?.cwd === undefined ? {} : { cwd: view.cwd }),
      ...(switchUser ? { uid: user!.uid, gid: user!.gid } : {}),
    }),
    signal,
  );
}

/** Runs the probe script in `pid`'s network namespace, with the host's node binary. */
async function runNetProbeIn(pid: number, request: NetProbeRequest, signal: AbortSignal, options: RunnerOptions): Promise<ProbeResult> {
  const child = spawnGroup(
    options.nsenter ?? 'nsenter',
    [`--net=/proc/${pid}/ns/net`, '--', options.node ?? process.execPath, '-e', NET_PROBE_MAIN, JSON.stringify(request)],
    { env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  const exit = await collectExit(child, signal, 64 * 1024);
  if (exit.type !== 'COMMAND') return exit;
  try {
    return JSON.parse(exit.output ?? '') as ProbeResult;
  } catch {
    return { type: 'failed', message: `the probe in the task's network namespace failed (status ${exit.exitCode}): ${exit.output ?? ''}` };
  }
}

/** A process in its own process group, so that a timeout kills whatever it started too. */
function spawnGroup(file: string, args: string[], options: { env: Record<string, string>; cwd?: string; uid?: number; gid?: number }): ChildProcess {
  return spawn(file, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Its exit status and output tail; aborting `signal` SIGKILLs its group. */
function collectExit(child: ChildProcess, signal: AbortSignal, keepBytes = OUTPUT_TAIL_BYTES): Promise<ProbeResult & { output?: string }> {
  return new Promise((resolve) => {
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-keepBytes);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone already.
      }
    };
    signal.addEventListener('abort', kill, { once: true });
    child.once('error', (err) => {
      signal.removeEventListener('abort', kill);
      resolve({ type: 'failed', message: `cannot run ${child.spawnfile}: ${err.message}` });
    });
    child.once('close', (code, killedBy) => {
      signal.removeEventListener('abort', kill);
      // Whatever it left in its group goes with it (a check must not leave processes behind).
      kill();
      if (signal.aborted) return resolve({ type: 'failed', message: 'aborted' });
      if (code === null) return resolve({ type: 'failed', message: `killed by ${killedBy ?? 'a signal'}${output === '' ? '' : `: ${output.trim()}`}` });
      resolve({ type: 'COMMAND', exitCode: code, output: output.trim() });
    });
  });
}

async function inspect(pid: number): Promise<TargetView> {
  const [status, environ, cwd, ...links] = await Promise.all([
    readFile(`/proc/${pid}/status`, 'utf8'),
    readFile(`/proc/${pid}/environ`, 'utf8').catch(() => ''),
    readlink(`/proc/${pid}/cwd`).catch(() => undefined),
    ...NAMESPACES.flatMap((ns) => [readlink(`/proc/${pid}/ns/${ns.proc}`), readlink(`/proc/self/ns/${ns.proc}`)]),
  ]);
  const ownNamespaces = new Set<Namespace>();
  NAMESPACES.forEach((ns, i) => {
    if (links[2 * i] !== links[2 * i + 1]) ownNamespaces.add(ns.proc);
  });
  const env: Record<string, string> = {};
  for (const entry of environ.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  // "Uid:	real	effective	saved	fs": the effective ids are the ones that act.
  const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1] ?? process.getuid?.() ?? 0);
  const gid = Number(/^Gid:\s+\d+\s+(\d+)/m.exec(status)?.[1] ?? process.getgid?.() ?? 0);
  return { pid, ownNamespaces, uid, gid, env, cwd };
}
