/**
 * Mesos's cgroups/cpu isolator for the OCI launcher: cpu shares and a CFS quota from the task's
 * `cpus` (the spec's linux.resources.cpu; the runtime writes v1 or v2 files), and cpu time read
 * back from cpuacct/cpu (v1) or cpu.stat (v2).
 */
import type { ResourceStatistics } from '../../launcher.js';
import { type CgroupLayout, cgroupDir, parseFlatKeyed, readCgroupFile } from '../../oci/cgroups.js';

/** Mesos's CPU_SHARES_PER_CPU and MIN_CPU_SHARES. */
export const CPU_SHARES_PER_CPU = 1024;
export const MIN_CPU_SHARES = 2;
/** Mesos's CPU_CFS_PERIOD (100 ms) and MIN_CPU_CFS_QUOTA (1 ms). */
export const CFS_PERIOD_US = 100_000;
export const MIN_CFS_QUOTA_US = 1_000;

/**
 * linux.resources.cpu for `cpus`: shares 1024 per cpu and, with `enableCfs`, a hard quota of
 * cpus * period (Mesos's `--cgroups_enable_cfs`); none without cpus.
 */
export function cpuResources(cpus: number | undefined, enableCfs = true): { shares: number; quota?: number; period?: number } | undefined {
  if (cpus === undefined || !(cpus > 0)) return undefined;
  const shares = Math.max(MIN_CPU_SHARES, Math.round(CPU_SHARES_PER_CPU * cpus));
  if (!enableCfs) return { shares };
  return { shares, quota: Math.max(MIN_CFS_QUOTA_US, Math.round(CFS_PERIOD_US * cpus)), period: CFS_PERIOD_US };
}

// USER_HZ, the unit of v1's cpuacct.stat.
const CLOCK_TICKS_PER_SECOND = 100;

/** cpu time and throttling of cgroup `path`. */
export async function cpuStatistics(layout: CgroupLayout, path: string): Promise<Partial<ResourceStatistics>> {
  if (layout.version === 2) {
    const stat = parseFlatKeyed(await readCgroupFile(cgroupDir(layout, 'cpu', path), 'cpu.stat'));
    return definedOnly({
      cpus_user_time_secs: scaled(stat.get('user_usec'), 1e-6),
      cpus_system_time_secs: scaled(stat.get('system_usec'), 1e-6),
      cpus_nr_periods: stat.get('nr_periods'),
      cpus_nr_throttled: stat.get('nr_throttled'),
      cpus_throttled_time_secs: scaled(stat.get('throttled_usec'), 1e-6),
    });
  }
  const [acct, stat] = await Promise.all([
    readCgroupFile(cgroupDir(layout, 'cpuacct', path), 'cpuacct.stat'),
    readCgroupFile(cgroupDir(layout, 'cpu', path), 'cpu.stat'),
  ]);
  const ticks = parseFlatKeyed(acct);
  const throttling = parseFlatKeyed(stat);
  return definedOnly({
    cpus_user_time_secs: scaled(ticks.get('user'), 1 / CLOCK_TICKS_PER_SECOND),
    cpus_system_time_secs: scaled(ticks.get('system'), 1 / CLOCK_TICKS_PER_SECOND),
    cpus_nr_periods: throttling.get('nr_periods'),
    cpus_nr_throttled: throttling.get('nr_throttled'),
    cpus_throttled_time_secs: scaled(throttling.get('throttled_time'), 1e-9),
  });
}

function scaled(value: number | undefined, factor: number): number | undefined {
  return value === undefined ? undefined : value * factor;
}

/** The members that are set (exactOptionalPropertyTypes: absent, never undefined). */
export function definedOnly<T extends Record<string, number | undefined>>(values: T): Partial<Record<keyof T, number>> {
  const out: Partial<Record<keyof T, number>> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key as keyof T] = value;
  return out;
}
