/**
 * Mesos's cgroups/pids isolator for the OCI launcher: a limit on the number of processes (and
 * threads) a container may have, from the agent's `--container_pids_limit`, and the count.
 */
import type { ResourceStatistics } from '../../launcher.js';
import { type CgroupLayout, cgroupDir, parseNumber, readCgroupFile } from '../../oci/cgroups.js';

/** agora's default `--container_pids_limit`: generous for a task, fatal to a fork bomb. */
export const DEFAULT_PIDS_LIMIT = 4096;

/** linux.resources.pids; none when the limit is 0 (unlimited). */
export function pidsResources(limit: number): { limit: number } | undefined {
  return limit > 0 ? { limit } : undefined;
}

/**
 * Processes in cgroup `path` (cgroup.procs) and tasks, i.e. threads (pids.current counts them).
 */
export async function pidsStatistics(layout: CgroupLayout, path: string): Promise<Partial<ResourceStatistics>> {
  const dir = cgroupDir(layout, 'pids', path);
  const [procs, current] = await Promise.all([readCgroupFile(dir, 'cgroup.procs'), readCgroupFile(dir, 'pids.current')]);
  const out: Partial<ResourceStatistics> = {};
  if (procs !== undefined) out.processes = procs === '' ? 0 : procs.split('\n').length;
  const threads = parseNumber(current);
  if (threads !== undefined) out.threads = threads;
  return out;
}

/** Pids of the processes in cgroup `path`, for signalling every one of them. */
export async function cgroupPids(layout: CgroupLayout, path: string): Promise<number[]> {
  const text = await readCgroupFile(cgroupDir(layout, 'pids', path) ?? cgroupDir(layout, 'memory', path), 'cgroup.procs');
  return (text ?? '').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}
