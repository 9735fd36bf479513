/**
 * Waits for containers to exit without being their parent: conmon writes each container's exit
 * status to `<exits>/<containerId>` when it ends. One inotify watch on that directory wakes the
 * waiters; a slow poll covers events a watch can miss.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const POLL_INTERVAL_MS = 1_000;

export class ExitWatcher {
  private readonly waiters = new Map<string, Array<(code: number) => void>>();
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;

  constructor(readonly directory: string) {}

  /** Starts watching; the directory must exist. */
  start(): void {
    this.watcher = watch(this.directory, (_event, filename) => {
      if (filename !== null && this.waiters.has(filename)) void this.check(filename);
    });
    this.watcher.on('error', () => undefined);
    this.watcher.unref();
  }

  /** Resolves with the container's exit status once conmon has recorded it (at once if it has). */
  wait(containerId: string): Promise<number> {
    return new Promise((resolve) => {
      const list = this.waiters.get(containerId) ?? [];
      list.push(resolve);
      this.waiters.set(containerId, list);
      this.ensurePolling();
      void this.check(containerId);
    });
  }

  /** The recorded status, or undefined while the container runs. */
  async recorded(containerId: string): Promise<number | undefined> {
    const text = await readFile(join(this.directory, containerId), 'utf8').catch(() => '');
    // conmon writes the number alone; an empty or partial file is still being written.
    return /^-?\d+\s*$/.test(text) ? Number(text.trim()) : undefined;
  }

  close(): void {
    this.watcher?.close();
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = undefined;
  }

  private async check(containerId: string): Promise<void> {
    const code = await this.recorded(containerId);
    if (code === undefined) return;
    const list = this.waiters.get(containerId);
    if (list === undefined) return;
    this.waiters.delete(containerId);
    for (const resolve of list) resolve(code);
  }

  private ensurePolling(): void {
    if (this.poller !== undefined) return;
    this.poller = setInterval(() => {
      if (this.waiters.size === 0) {
        clearInterval(this.poller);
        this.poller = undefined;
        return;
      }
      for (const containerId of this.waiters.keys()) void this.check(containerId);
    }, POLL_INTERVAL_MS);
  }
}
