/**
 * What the OCI launcher needs from the machine, found at agent start: root, an OCI runtime
 * (crun, else runc), conmon, cgroups; tini when present. Also crun's hybrid-cgroup problem
 * (runtime-recipes 1.2), fixed here when possible, else worked around with runc.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CGROUP_ROOT, type CgroupLayout, detectCgroupLayout } from './cgroups.js';

export interface OciRuntime {
  name: 'crun' | 'runc';
  path: string;
}

export type OciSupport =
  | {
      ok: true;
      runtime: OciRuntime;
      conmon: string;
      /** tini-static (or tini), run as each container's pid 1; undefined when not installed. */
      init: string | undefined;
      layout: CgroupLayout;
      /** v1 with swap accounting (memory.memsw.*): memory limits then include swap. */
      limitSwap: boolean;
      /** What was done or chosen, and why, for the agent's start-up log. */
      notes: string[];
    }
  | { ok: false; reason: string };

export interface DetectOptions {
  isRoot: boolean;
  /** `--oci_runtime`: crun, runc, or a path; undefined: crun, else runc. */
  runtime?: string;
  /** Directories searched for executables; PATH and the usual system directories by default. */
  searchPath?: string[];
  /** For tests: the cgroup layout instead of /proc/self/mountinfo's. */
  layout?: CgroupLayout;
  /** For tests: how a controller is mounted as v1 (default: mount -t cgroup). */
  mountController?: (controller: string, target: string) => Promise<void>;
}

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Finds what the OCI launcher needs, fixing crun's hybrid-cgroup problem on the way if it can. */
export async function detectOciSupport(options: DetectOptions): Promise<OciSupport> {
  if (!options.isRoot) return { ok: false, reason: 'the agent does not run as root (namespaces and cgroups need root)' };
  const dirs = options.searchPath ?? [...(process.env['PATH'] ?? '').split(':').filter((d) => d !== ''), ...SYSTEM_DIRS];
  const conmon = await findExecutable('conmon', dirs);
  if (conmon === undefined) return { ok: false, reason: 'conmon, the container monitor, is not installed (apt-get install conmon)' };
  const layout = options.layout ?? (await detectCgroupLayout());
  if (layout === undefined) return { ok: false, reason: `no cgroup hierarchy is mounted under ${CGROUP_ROOT}` };

  const notes: string[] = [];
  const candidates = await runtimeCandidates(options.runtime, dirs);
  if (candidates.length === 0) {
    return {
      ok: false,
      reason:
        options.runtime === undefined
          ? 'neither crun nor runc is installed (apt-get install crun)'
          : `--oci_runtime: '${options.runtime}' is not an executable`,
    };
  }
  let runtime: OciRuntime | undefined;
  for (const candidate of candidates) {
    if (candidate.name !== 'crun') {
      runtime = candidate;
      break;
    }
    const hybrid = await hybridControllers(layout);
    if (hybrid.length === 0) {
      runtime = candidate;
      break;
    }
    const fixed = await mountHybridControllers(hybrid, options.mountController ?? mountCgroupV1);
    if (fixed.ok) {
      notes.push(
        `mounted the ${hybrid.join(', ')} controller${hybrid.length > 1 ? 's' : ''} as cgroup v1 at ${hybrid.map((c) => join(CGROUP_ROOT, c)).join(', ')}: ` +
          'crun refuses a hybrid cgroup layout whose cgroup2 hierarchy still holds controllers',
      );
      runtime = candidate;
      break;
    }
    notes.push(
      `not using crun: it refuses this hybrid cgroup layout (cgroup2 holds ${hybrid.join(', ')}) and mounting ` +
        `${hybrid.length > 1 ? 'them' : 'it'} as cgroup v1 failed: ${fixed.error}`,
    );
  }
  if (runtime === undefined) {
    return { ok: false, reason: `${notes.join('; ')}; and runc is not installed (apt-get install runc)` };
  }
  const init = (await findExecutable('tini-static', dirs)) ?? (await findExecutable('tini', dirs));
  if (init === undefined) notes.push('tini is not installed: a task that is pid 1 of its container may ignore SIGTERM');
  const limitSwap = layout.version === 2 || (await exists(join(layout.controllers.get('memory') ?? '/nonexistent', 'memory.memsw.limit_in_bytes')));
  return { ok: true, runtime, conmon, init, layout, limitSwap, notes };
}

async function runtimeCandidates(requested: string | undefined, dirs: string[]): Promise<OciRuntime[]> {
  if (requested !== undefined) {
    const path = requested.includes('/') ? ((await isExecutable(requested)) ? requested : undefined) : await findExecutable(requested, dirs);
    if (path === undefined) return [];
    return [{ name: path.endsWith('runc') ? 'runc' : 'crun', path }];
  }
  const out: OciRuntime[] = [];
  for (const name of ['crun', 'runc'] as const) {
    const path = await findExecutable(name, dirs);
    if (path !== undefined) out.push({ name, path });
  }
  return out;
}

/**
 * The controllers crun objects to: on a v1 machine with a cgroup2 mounted beside (hybrid), those
 * listed in its cgroup.controllers (each one not mounted as v1, e.g. hugetlb).
 */
export async function hybridControllers(layout: CgroupLayout): Promise<string[]> {
  if (layout.version !== 1 || layout.unifiedMount === undefined) return [];
  const text = await readFile(join(layout.unifiedMount, 'cgroup.controllers'), 'utf8').catch(() => '');
  return text.split(/\s+/).filter((c) => /^[a-z_]+$/.test(c));
}

/** Mounts each controller as its own v1 hierarchy under /sys/fs/cgroup, which empties cgroup2. */
async function mountHybridControllers(
  controllers: string[],
  mount: (controller: string, target: string) => Promise<void>,
): Promise<{ ok: true } | { ok: false; error: string }> {
  for (const controller of controllers) {
    try {
      await mount(controller, join(CGROUP_ROOT, controller));
    } catch (err) {
      return { ok: false, error: (err as Error).message.trim() };
    }
  }
  return { ok: true };
}

async function mountCgroupV1(controller: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await run('mount', ['-t', 'cgroup', '-o', controller, 'cgroup', target]);
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
    });
  });
}

async function findExecutable(name: string, dirs: string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await isExecutable(path)) return path;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
