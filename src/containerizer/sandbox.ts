/**
 * Sandbox directories on disk: create a run's sandbox with its stdout/stderr files, point the
 * executor's `runs/latest` at it, and hand it to the task's user. Paths come from the agent.
 */
import { chown, mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface SandboxFiles {
  directory: string;
  stdoutPath: string;
  stderrPath: string;
}

/**
 * Creates `directory` (a `.../runs/<containerId>` path) with empty `stdout` and `stderr`, makes
 * `.../runs/latest` point at it, and chowns the sandbox to `owner` when given.
 */
export async function prepareSandbox(directory: string, owner?: { uid: number; gid: number }): Promise<SandboxFiles> {
  await mkdir(directory, { recursive: true, mode: 0o755 });
  const files = { directory, stdoutPath: join(directory, 'stdout'), stderrPath: join(directory, 'stderr') };
  await writeFile(files.stdoutPath, '', { flag: 'a' });
  await writeFile(files.stderrPath, '', { flag: 'a' });
  if (owner !== undefined) {
    // Only the run directory and its files: the parents stay the agent's, as in Mesos.
    for (const path of [directory, files.stdoutPath, files.stderrPath]) await chown(path, owner.uid, owner.gid);
  }
  await pointLatestAt(directory);
  return files;
}

/** Replaces `runs/latest` atomically (a new link renamed over the old one). */
async function pointLatestAt(directory: string): Promise<void> {
  const runs = dirname(directory);
  const temp = join(runs, `.latest.${basename(directory)}`);
  await symlink(basename(directory), temp);
  await rename(temp, join(runs, 'latest'));
}
