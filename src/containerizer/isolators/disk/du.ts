/**
 * Mesos's disk/du isolator: measures a sandbox's disk use by walking it (as `du` does, counting
 * allocated blocks, hard links once) every `--container_disk_watch_interval`.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Mesos's `--container_disk_watch_interval` default. */
export const DEFAULT_DISK_WATCH_INTERVAL_MS = 15_000;

/**
 * Bytes allocated to the files under `directory` (st_blocks * 512, each inode once), like
 * `du -s`. Files that vanish during the walk are skipped; a missing directory counts 0.
 */
export async function diskUsageBytes(directory: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  let level = [directory];
  while (level.length > 0) {
    const next: string[] = [];
    // One directory level at a time: bounded concurrency without a queue.
    await Promise.all(
      level.map(async (dir) => {
        const info = await lstat(dir).catch(() => undefined);
        if (info === undefined) return;
        total += info.blocks * 512;
        const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const entry of entries) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) {
            next.push(path);
            continue;
          }
          const file = await lstat(path).catch(() => undefined);
          if (file === undefined) continue;
          if (file.nlink > 1) {
            const key = `${file.dev}:${file.ino}`;
            if (seen.has(key)) continue;
            seen.add(key);
          }
          total += file.blocks * 512;
        }
      }),
    );
    level = next;
  }
  return total;
}

/** "Disk usage (40MB) exceeds quota (32MB)", as Mesos's disk/du words a limitation. */
export function diskLimitationMessage(usedBytes: number, limitMb: number): string {
  return `Disk usage (${formatMb(usedBytes)}) exceeds quota (${limitMb}MB)`;
}

function formatMb(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)}MB`;
}
