/**
 * Mesos's cgroups/mem isolator for the OCI launcher: a memory limit from the task's `mem` (at
 * least 32 MB, swap included so a task cannot page its way past it), memory use read back, and
 * the OOM killer's visits counted (memory.oom_control on v1, memory.events on v2).
 */
import type { ContainerLimitation, ResourceStatistics } from '../../launcher.js';
import { type CgroupLayout, cgroupDir, parseFlatKeyed, parseNumber, readCgroupFile } from '../../oci/cgroups.js';
import { definedOnly } from './cpu.js';

/** Mesos's MIN_MEMORY. */
export const MIN_MEMORY_MB = 32;

const MB = 1024 * 1024;

/** linux.resources.memory for `memMb`: limit = swap (memory + swap) = max(mem, 32 MB). */
export function memoryResources(memMb: number | undefined): { limit: number; swap: number } | undefined {
  if (memMb === undefined || !(memMb > 0)) return undefined;
  const limit = Math.max(MIN_MEMORY_MB, Math.ceil(memMb)) * MB;
  return { limit, swap: limit };
}

/** Memory use and limit of cgroup `path`. */
export async function memoryStatistics(layout: CgroupLayout, path: string): Promise<Partial<ResourceStatistics>> {
  const dir = cgroupDir(layout, 'memory', path);
  if (layout.version === 2) {
    const [current, max, statText, swap] = await Promise.all([
      readCgroupFile(dir, 'memory.current'),
      readCgroupFile(dir, 'memory.max'),
      readCgroupFile(dir, 'memory.stat'),
      readCgroupFile(dir, 'memory.swap.current'),
    ]);
    const stat = parseFlatKeyed(statText);
    return definedOnly({
      mem_limit_bytes: parseNumber(max),
      mem_total_bytes: parseNumber(current),
      mem_rss_bytes: stat.get('anon'),
      mem_anon_bytes: stat.get('anon'),
      mem_file_bytes: stat.get('file'),
      mem_cache_bytes: stat.get('file'),
      mem_mapped_file_bytes: stat.get('file_mapped'),
      mem_swap_bytes: parseNumber(swap),
    });
  }
  const [usage, limit, statText] = await Promise.all([
    readCgroupFile(dir, 'memory.usage_in_bytes'),
    readCgroupFile(dir, 'memory.limit_in_bytes'),
    readCgroupFile(dir, 'memory.stat'),
  ]);
  const stat = parseFlatKeyed(statText);
  return definedOnly({
    mem_limit_bytes: parseNumber(limit),
    mem_total_bytes: parseNumber(usage),
    mem_rss_bytes: stat.get('total_rss'),
    mem_anon_bytes: stat.get('total_rss'),
    mem_file_bytes: stat.get('total_cache'),
    mem_cache_bytes: stat.get('total_cache'),
    mem_mapped_file_bytes: stat.get('total_mapped_file'),
    mem_swap_bytes: stat.get('total_swap'),
  });
}

/** How often the OOM killer struck in cgroup `path`, and its peak use; undefined if unreadable. */
export async function oomRecord(layout: CgroupLayout, path: string): Promise<{ oomKills: number; peakBytes?: number } | undefined> {
  const dir = cgroupDir(layout, 'memory', path);
  if (layout.version === 2) {
    const [events, peak] = await Promise.all([readCgroupFile(dir, 'memory.events'), readCgroupFile(dir, 'memory.peak')]);
    if (events === undefined) return undefined;
    const peakBytes = parseNumber(peak);
    return { oomKills: parseFlatKeyed(events).get('oom_kill') ?? 0, ...(peakBytes === undefined ? {} : { peakBytes }) };
  }
  const [control, peak] = await Promise.all([readCgroupFile(dir, 'memory.oom_control'), readCgroupFile(dir, 'memory.max_usage_in_bytes')]);
  if (control === undefined) return undefined;
  const peakBytes = parseNumber(peak);
  return { oomKills: parseFlatKeyed(control).get('oom_kill') ?? 0, ...(peakBytes === undefined ? {} : { peakBytes }) };
}

/** The limitation of a container the OOM killer struck, worded as Mesos's cgroups/mem does. */
export function memoryLimitation(memMb: number, peakBytes: number | undefined): ContainerLimitation {
  const limitMb = Math.max(MIN_MEMORY_MB, Math.ceil(memMb));
  const used = peakBytes === undefined ? '' : ` Maximum Used: ${Math.round(peakBytes / MB)}MB`;
  return {
    reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
    message: `Memory limit exceeded: Requested: ${limitMb}MB${used}`,
    resource: { name: 'mem', valueMb: memMb },
  };
}
