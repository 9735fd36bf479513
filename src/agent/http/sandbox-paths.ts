/**
 * Which paths `/files` may serve: the agent's sandboxes and nothing else. Turns a requested
 * path (virtual or real) into a real one, refusing `..`, symlink escapes and anything outside.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Finds the runs directory of an executor the agent knows, for virtual paths. */
export type RunsDirectoryLookup = (frameworkId: string, executorId: string) => string | undefined;

/** Why a path is not served, with the HTTP status that says so. */
export interface PathRefusal {
  status: 400 | 403 | 404;
  message: string;
}

export interface ResolvedPath {
  /** The path as the client gave it, normalized: listings are relative to it. */
  requested: string;
  /** The real path on disk, inside a sandbox. */
  real: string;
}

export class SandboxPaths {
  private readonly slavesDir: string;
  private realSlavesDir: string | undefined;

  constructor(
    workDir: string,
    private readonly runsDirectory: RunsDirectoryLookup,
  ) {
    this.slavesDir = resolve(workDir, 'slaves');
  }

  /**
   * Resolves `path`, or refuses it: 400 when it is not absolute, 403 when it is outside the
   * agent's sandboxes (before or after following symlinks), 404 when it does not exist.
   */
  async resolve(path: string): Promise<ResolvedPath | PathRefusal> {
    if (!path.startsWith('/')) return { status: 400, message: `'path' must be an absolute path, got '${path}'` };
    const segments = path.split('/').filter((s) => s !== '' && s !== '.');
    if (segments.includes('..')) return forbidden(path, "'..' is not allowed");
    const requested = `/${segments.join('/')}`;
    const candidate = this.virtualToReal(segments) ?? requested;
    // Lexical check first, so paths outside are refused without revealing whether they exist.
    if (!isSandboxPath(relative(this.slavesDir, candidate))) return forbidden(path, "it is outside the agent's sandboxes");
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      return { status: 404, message: `No such file or directory: '${path}'` };
    }
    const realRoot = await this.realSlaves();
    if (!isSandboxPath(relative(realRoot, real))) return forbidden(path, 'it links outside the sandbox');
    return { requested, real };
  }

  /** `/frameworks/<fid>/executors/<eid>/runs/<latest|containerId>[/...]` to its host path. */
  private virtualToReal(segments: string[]): string | undefined {
    const [frameworks, frameworkId, executors, executorId, runs, run, ...rest] = segments;
    if (frameworks !== 'frameworks' || executors !== 'executors' || runs !== 'runs') return undefined;
    if (frameworkId === undefined || executorId === undefined || run === undefined) return undefined;
    const runsDir = this.runsDirectory(frameworkId, executorId);
    if (runsDir === undefined) return undefined;
    return [runsDir, run, ...rest].join('/');
  }

  private async realSlaves(): Promise<string> {
    this.realSlavesDir ??= await realpath(this.slavesDir).catch(() => this.slavesDir);
    return this.realSlavesDir;
  }
}

/**
 * A path relative to `<work_dir>/slaves` is in a sandbox when it is at or below
 * `<agentId>/frameworks/<fid>/executors/<eid>/runs/<containerId>`.
 */
function isSandboxPath(rel: string): boolean {
  if (rel === '' || isAbsolute(rel) || rel.startsWith('..')) return false;
  const parts = rel.split(sep);
  return parts.length >= 7 && parts[1] === 'frameworks' && parts[3] === 'executors' && parts[5] === 'runs';
}

function forbidden(path: string, why: string): PathRefusal {
  return { status: 403, message: `Access to '${path}' is refused: ${why}` };
}
