/**
 * `--isolation posix|oci`: which launcher an agent uses, and why. oci is the default where it
 * works (root, crun or runc, conmon, cgroups); posix otherwise, with the reason said at start.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Launcher } from './launcher.js';
import { OciLauncher } from './launchers/oci.js';
import { PosixLauncher } from './launchers/posix.js';
import { detectOciSupport } from './oci/detect.js';
import { DEFAULT_PIDS_LIMIT } from './isolators/cgroups/pids.js';

export const ISOLATION_MODES = ['posix', 'oci'] as const;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

export interface IsolationOptions {
  /** `--isolation`; undefined: oci where it works, else posix. */
  requested?: IsolationMode;
  /** `--oci_runtime`: crun, runc or a path; undefined: crun, else runc. */
  ociRuntime?: string;
  /** Where the oci launcher keeps bundles and runtime state (`--runtime_dir`). */
  runtimeDir: string;
  /** `--cgroups_root`. */
  cgroupsRoot?: string;
  /** `--container_pids_limit`; 0 = unlimited. */
  pidsLimit?: number;
  /** `--cgroups_enable_cfs`; default true. */
  enableCfs?: boolean;
  isRoot: boolean;
  logger?: Logger;
}

export interface IsolationChoice {
  isolation: IsolationMode;
  launcher: Launcher;
  /** One line for the start-up log and `agora local`'s banner: what and why. */
  reason: string;
  /** Things done or noticed on the way (the crun cgroup fix, a missing tini). */
  notes: string[];
  /** Stops the launcher's helper processes; containers keep running. */
  close(): void;
}

/** Mesos's `--cgroups_root`, in agora's name. */
export const DEFAULT_CGROUPS_ROOT = 'agora';

/** Picks and prepares the launcher. Throws an Error naming the cause when oci is asked for and cannot work. */
export async function chooseIsolation(options: IsolationOptions): Promise<IsolationChoice> {
  if (options.requested === 'posix') {
    return { isolation: 'posix', launcher: new PosixLauncher({ stateDir: join(options.runtimeDir, 'posix') }), reason: 'posix: asked for with --isolation=posix', notes: [], close: () => undefined };
  }
  const support = await detectOciSupport({ isRoot: options.isRoot, ...(options.ociRuntime === undefined ? {} : { runtime: options.ociRuntime }) });
  if (!support.ok) {
    if (options.requested === 'oci') throw new Error(`--isolation=oci cannot work here: ${support.reason}`);
    return {
      isolation: 'posix',
      launcher: new PosixLauncher({ stateDir: join(options.runtimeDir, 'posix') }),
      reason: `posix: ${support.reason}, so tasks run as plain processes without namespaces or cgroup limits`,
      notes: [],
      close: () => undefined,
    };
  }
  const launcher = await OciLauncher.create({
    runtime: support.runtime,
    conmon: support.conmon,
    init: support.init,
    layout: support.layout,
    limitSwap: support.limitSwap,
    runtimeDir: options.runtimeDir,
    cgroupsRoot: options.cgroupsRoot ?? DEFAULT_CGROUPS_ROOT,
    pidsLimit: options.pidsLimit ?? DEFAULT_PIDS_LIMIT,
    enableCfs: options.enableCfs ?? true,
    hostname: hostname(),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const why = options.requested === 'oci' ? 'asked for with --isolation=oci' : 'the default: the agent runs as root and an OCI runtime is installed';
  const cgroups = support.layout.version === 2 ? 'cgroup v2' : 'cgroup v1';
  return {
    isolation: 'oci',
    launcher,
    reason: `oci: ${why}; containers run with ${launcher.describe()}, ${cgroups}`,
    notes: support.notes,
    close: () => launcher.close(),
  };
}
