/**
 * The machine's cgroup layout as the OCI launcher needs it: v2 (one unified hierarchy at
 * /sys/fs/cgroup) or v1 (a hierarchy per controller, maybe with a cgroup2 beside them: "hybrid").
 * Reads /proc/self/mountinfo; finds a container's cgroup directories. No writes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export type CgroupLayout =
  | { version: 2; unifiedMount: string }
  | {
      version: 1;
      /** Controller name -> mount point, e.g. memory -> /sys/fs/cgroup/memory. */
      controllers: ReadonlyMap<string, string>;
      /** A cgroup2 mounted beside the v1 hierarchies (systemd's "hybrid" mode), if any. */
      unifiedMount?: string;
    };

interface CgroupMount {
  mountPoint: string;
  type: 'cgroup' | 'cgroup2';
  /** Super options of a v1 mount: its controllers (and name=...). */
  superOptions: string[];
}

/** Reads the cgroup mounts of this machine; undefined when there are none (no cgroups). */
export async function detectCgroupLayout(mountinfoPath = '/proc/self/mountinfo'): Promise<CgroupLayout | undefined> {
  const text = await readFile(mountinfoPath, 'utf8').catch(() => '');
  return layoutOf(parseCgroupMounts(text));
}

/** The cgroup and cgroup2 mounts listed in a mountinfo text (proc(5)). */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    // <id> <parent> <maj:min> <root> <mount point> <options> [optional fields...] - <type> <source> <super options>
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const mountPoint = unescapeMountPath(line.slice(0, dash).split(' ')[4] ?? '');
    const [type, , superOptions] = line.slice(dash + 3).split(' ');
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    mounts.push({ mountPoint, type, superOptions: (superOptions ?? '').split(',') });
  }
  return mounts;
}

/** v2 when cgroup2 is mounted at /sys/fs/cgroup itself; else v1 from the per-controller mounts. */
export function layoutOf(mounts: CgroupMount[]): CgroupLayout | undefined {
  const unified = mounts.find((m) => m.type === 'cgroup2');
  if (unified !== undefined && unified.mountPoint === CGROUP_ROOT) return { version: 2, unifiedMount: unified.mountPoint };
  const controllers = new Map<string, string>();
  for (const m of mounts) {
    if (m.type !== 'cgroup') continue;
    for (const option of m.superOptions) {
      if (KNOWN_V1_CONTROLLERS.has(option) && !controllers.has(option)) controllers.set(option, m.mountPoint);
    }
  }
  if (controllers.size === 0) return unified === undefined ? undefined : { version: 2, unifiedMount: unified.mountPoint };
  return { version: 1, controllers, ...(unified === undefined ? {} : { unifiedMount: unified.mountPoint }) };
}

const KNOWN_V1_CONTROLLERS = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'blkio',
  'perf_event',
  'net_prio',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
]);

/**
 * The directory of cgroup `path` (e.g. `/agora/<containerId>`) for `controller`: under that
 * controller's v1 mount, or the unified hierarchy on v2. Undefined if v1 lacks the controller.
 */
export function cgroupDir(layout: CgroupLayout, controller: string, path: string): string | undefined {
  if (layout.version === 2) return join(layout.unifiedMount, path);
  const mount = layout.controllers.get(controller);
  return mount === undefined ? undefined : join(mount, path);
}

/** A cgroup file's text, trimmed; undefined when it cannot be read (gone, or not there). */
export async function readCgroupFile(dir: string | undefined, file: string): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  try {
    return (await readFile(join(dir, file), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** A file of "key value" lines (memory.stat, cpu.stat, memory.events) as numbers. */
export function parseFlatKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key !== undefined && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** A single-number cgroup file; `max` (v2's unlimited) and unreadable files are undefined. */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
