/**
 * Container pids checkpointed under `<work_dir>/meta` (Mesos's `runs/<cid>/pids/forked.pid`), so
 * an agent that died without stopping its tasks can kill them when it starts again.
 */
import { readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

const PID_FILE = 'pids/forked.pid';
// USER_HZ: the unit of /proc/<pid>/stat start times; 100 on every Linux architecture agora targets.
const CLOCK_TICKS_PER_SECOND = 100;
const KILL_WAIT_MS = 2_000;

/** Records the pid of a container's main process (its process group id) in its meta run directory. */
export async function checkpointPid(metaRunDir: string, pid: number): Promise<void> {
  await mkdir(join(metaRunDir, 'pids'), { recursive: true });
  await writeFile(join(metaRunDir, PID_FILE), `${pid}\n`);
}

/** Forgets a container whose processes are gone. */
export async function removeRunCheckpoint(metaRunDir: string): Promise<void> {
  await rm(metaRunDir, { recursive: true, force: true });
}

/**
 * Kills the process groups of containers a previous agent left running, then forgets them.
 * NOTE: this is Mesos's `--recover=cleanup`. Until the agent can recover (reconnect to) its
 * tasks, a task it cannot supervise must not outlive it. A pid is only trusted when its process
 * leads its own group and started before the pid file was written, so a reused pid is spared.
 */
export async function killLeftoverContainers(workDir: string, logger: Logger): Promise<number> {
  let killed = 0;
  for (const runDir of await metaRunDirs(join(workDir, 'meta', 'slaves'))) {
    const file = join(runDir, PID_FILE);
    const [text, info] = await Promise.all([readFile(file, 'utf8').catch(() => ''), stat(file).catch(() => undefined)]);
    const pid = Number(text.trim());
    if (info !== undefined && Number.isInteger(pid) && pid > 1 && (await isOurContainer(pid, info.mtimeMs))) {
      logger.warn({ pid, runDir }, 'killing a task left running by a previous agent');
      signalGroup(pid, 'SIGKILL');
      await waitUntilGone(pid);
      killed++;
    }
    await removeRunCheckpoint(runDir);
  }
  return killed;
}

/** `meta/slaves/<aid>/frameworks/<fid>/executors/<eid>/runs/<cid>` directories. */
async function metaRunDirs(root: string): Promise<string[]> {
  let level = [root];
  for (const name of [undefined, 'frameworks', undefined, 'executors', undefined, 'runs', undefined]) {
    const next: string[] = [];
    for (const dir of level) {
      if (name !== undefined) {
        next.push(join(dir, name));
        continue;
      }
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) next.push(join(dir, e.name));
    }
    level = next;
  }
  return level;
}

async function isOurContainer(pid: number, pidFileMtimeMs: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command name start at field 3 (state): pgrp is field 5, starttime field 22.
  const [state, pgid, startTicks] = [fields[0], Number(fields[2]), Number(fields[19])];
  if (state === 'Z' || pgid !== pid) return false;
  const bootSecs = await bootTimeSecs();
  if (bootSecs === undefined) return false;
  const startedMs = (bootSecs + startTicks / CLOCK_TICKS_PER_SECOND) * 1000;
  // The pid file is written just after the process starts; a reused pid started later. The
  // slack covers btime's one-second resolution.
  return startedMs <= pidFileMtimeMs + 1_000;
}

async function bootTimeSecs(): Promise<number | undefined> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const match = /^btime (\d+)$/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

async function waitUntilGone(pid: number): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  while (Date.now() < deadline) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined || /\) [ZX] /.test(stat)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
