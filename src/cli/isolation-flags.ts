/** The agent's isolation flags, shared by `agora agent` and `agora local` (facts 7.1 where Mesos has them). */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AgentConfig } from '../main/agent.js';
import { parseBool, parseCount, parseDuration } from './flags.js';

type IsolationConfig = Pick<
  AgentConfig,
  | 'isolation'
  | 'ociRuntime'
  | 'runtimeDir'
  | 'cgroupsRoot'
  | 'containerPidsLimit'
  | 'cgroupsEnableCfs'
  | 'containerDiskWatchIntervalMs'
  | 'enforceContainerDiskQuota'
>;

export function addIsolationOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--isolation <mode>',
        'how tasks run: oci (namespaces and cgroup limits, with crun or runc) or posix (plain processes) (default: oci when root and an OCI runtime is installed, else posix)',
      ).argParser((value: string) => {
        if (value !== 'posix' && value !== 'oci') throw new InvalidArgumentError(`"${value}" is not an isolation; use oci or posix`);
        return value;
      }),
    )
    .option('--oci-runtime <crun|runc|path>', 'the OCI runtime for --isolation=oci (default: crun, else runc)')
    .option('--runtime-dir <dir>', 'where OCI bundles and runtime state go (default: <work_dir>/runtime)')
    .option('--cgroups-root <path>', "containers' cgroups are /<path>/<container id> (default: agora)")
    .option(
      '--container-pids-limit <n>',
      'most processes and threads one container may have, 0 = no limit (default: 4096)',
      parseCount('--container_pids_limit', 0),
    )
    .addOption(
      new Option('--cgroups-enable-cfs [bool]', 'cap each task at its cpus with a CFS quota, besides its cpu shares (default: true)').argParser(
        parseBool('--cgroups_enable_cfs'),
      ),
    )
    .option(
      '--container-disk-watch-interval <duration>',
      "how often a sandbox's disk use is measured (default: 15secs)",
      parseDuration('--container_disk_watch_interval'),
    )
    .addOption(
      new Option('--enforce-container-disk-quota [bool]', 'kill a task whose sandbox grows past its disk resource (default: true)').argParser(
        parseBool('--enforce_container_disk_quota'),
      ),
    );
}

/** The isolation flags given, as startAgent takes them. */
export function isolationOptionsFrom(opts: Record<string, unknown>): IsolationConfig {
  const out: IsolationConfig = {};
  if (opts['isolation'] !== undefined) out.isolation = opts['isolation'] as 'posix' | 'oci';
  if (opts['ociRuntime'] !== undefined) out.ociRuntime = opts['ociRuntime'] as string;
  if (opts['runtimeDir'] !== undefined) out.runtimeDir = opts['runtimeDir'] as string;
  if (opts['cgroupsRoot'] !== undefined) out.cgroupsRoot = opts['cgroupsRoot'] as string;
  if (opts['containerPidsLimit'] !== undefined) out.containerPidsLimit = opts['containerPidsLimit'] as number;
  if (opts['cgroupsEnableCfs'] !== undefined) out.cgroupsEnableCfs = opts['cgroupsEnableCfs'] as boolean;
  if (opts['containerDiskWatchInterval'] !== undefined) out.containerDiskWatchIntervalMs = opts['containerDiskWatchInterval'] as number;
  if (opts['enforceContainerDiskQuota'] !== undefined) out.enforceContainerDiskQuota = opts['enforceContainerDiskQuota'] as boolean;
  return out;
}
