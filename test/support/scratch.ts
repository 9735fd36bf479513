/**
 * What a test file leaves behind, undone once its tests are over: stop steps (run in reverse
 * order, failures ignored, so a daemon already gone does not hide the rest), then the
 * temporary directories it made.
 */
import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tempDir } from './cluster.js';

export function scratch(): { cleanup: Array<() => Promise<unknown>>; dir: (name: string) => string } {
  const cleanup: Array<() => Promise<unknown>> = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    cleanup,
    dir(name: string): string {
      const d = tempDir(name);
      dirs.push(d);
      return d;
    },
  };
}
