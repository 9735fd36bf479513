import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointPid, PID_FILE } from './pids.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-pids-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpointPid', () => {
  it("writes the pid where Mesos's layout has it, making the directories", async () => {
    const run = join(dir, 'meta', 'slaves', 'a', 'frameworks', 'f', 'executors', 'e', 'runs', 'c');
    await checkpointPid(run, 4242);
    expect(readFileSync(join(run, PID_FILE), 'utf8')).toBe('4242\n');
  });
});
