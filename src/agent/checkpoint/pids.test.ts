import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointPid, killLeftoverContainers } from './pids.js';

let workDir: string;
const pids: number[] = [];

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-pids-'));
});

afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone already, as it should be.
    }
  }
  rmSync(workDir, { recursive: true, force: true });
});

/** A task left behind by a dead agent: its own process group, with a child. */
function orphan(): number {
  const child = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
  child.unref();
  pids.push(child.pid!);
  return child.pid!;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

const run = (cid: string) => join(workDir, 'meta/slaves/S0/frameworks/f1/executors/t1/runs', cid);
const logger = pino({ level: 'silent' });

describe('killLeftoverContainers', () => {
  it('kills the process group of a container a previous agent left running, and forgets it', async () => {
    const pid = orphan();
    await checkpointPid(run('c1'), pid);
    expect(await killLeftoverContainers(workDir, logger)).toBe(1);
    expect(alive(pid)).toBe(false);
    expect(existsSync(run('c1'))).toBe(false);
  });

  it('spares a process whose pid was reused after the pid file was written', async () => {
    const pid = orphan();
    await checkpointPid(run('c1'), pid);
    const anHourAgo = Date.now() / 1000 - 3_600;
    utimesSync(join(run('c1'), 'pids/forked.pid'), anHourAgo, anHourAgo);
    expect(await killLeftoverContainers(workDir, logger)).toBe(0);
    expect(alive(pid)).toBe(true);
    expect(existsSync(run('c1'))).toBe(false);
  });

  it('forgets pids of processes that are gone, and copes with no meta directory at all', async () => {
    await checkpointPid(run('c2'), 2 ** 22 + 7); // Above pid_max: never a live process.
    expect(await killLeftoverContainers(workDir, logger)).toBe(0);
    expect(existsSync(run('c2'))).toBe(false);
    expect(await killLeftoverContainers(join(workDir, 'nowhere'), logger)).toBe(0);
  });
});
