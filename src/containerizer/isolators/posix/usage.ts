/**
 * Mesos's posix/cpu and posix/mem isolators: usage accounting without enforcement, from /proc.
 * A posix container is a process group; its usage is the sum over the group's live processes.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { ResourceStatistics } from '../../launcher.js';

// USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture agora targets.
const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_SIZE_BYTES = 4096;

/** Usage of process group `pgid`, or undefined when it has no live process left. */
export async function processGroupUsage(pgid: number, nowSecs: number): Promise<ResourceStatistics | undefined> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  let processes = 0;
  let threads = 0;
  let userTicks = 0;
  let systemTicks = 0;
  let rssPages = 0;
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (pid) => {
        const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
        if (text === undefined) return;
        // Fields after the command name start at field 3 (state).
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
        if (Number(f[2]) !== pgid || f[0] === 'Z' || f[0] === 'X') return;
        processes++;
        threads += Number(f[17]);
        userTicks += Number(f[11]);
        systemTicks += Number(f[12]);
        rssPages += Number(f[21]);
      }),
  );
  if (processes === 0) return undefined;
  return {
    timestamp: nowSecs,
    processes,
    threads,
    cpus_user_time_secs: userTicks / CLOCK_TICKS_PER_SECOND,
    cpus_system_time_secs: systemTicks / CLOCK_TICKS_PER_SECOND,
    mem_rss_bytes: rssPages * PAGE_SIZE_BYTES,
  };
}
