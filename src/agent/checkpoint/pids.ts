/**
 * The pid of a container's main process, checkpointed in its meta run directory as Mesos does
 * (`runs/<cid>/pids/forked.pid`), for operators and tools that read the layout. Recovery does
 * not need it: the launchers keep their own records of what they started (containerizer).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PID_FILE = join('pids', 'forked.pid');

/** Records the pid of a container's main process (its process group id) in its meta run directory. */
export async function checkpointPid(metaRunDir: string, pid: number): Promise<void> {
  await mkdir(join(metaRunDir, 'pids'), { recursive: true });
  // Not atomic on purpose: nothing depends on it, and it is written on every launch.
  await writeFile(join(metaRunDir, PID_FILE), `${pid}\n`);
}
