/**
 * Atomic file replacement for everything agora persists (registry, checkpoints, caches): the
 * data goes to a temp file in the same directory, is fsynced, renamed over the target, and the
 * directory is fsynced, so a crash leaves the old file or the new one, never a torn one.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeFileAtomically(path: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  // A unique temp name: two writers of one path (a retry racing a slow write) never share it.
  const temp = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await open(temp, 'w', options.mode ?? 0o600);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
