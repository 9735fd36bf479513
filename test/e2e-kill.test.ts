/**
 * KILL on `agora local`: SIGTERM to the task's process group, the kill policy's grace period,
 * then SIGKILL; TASK_KILLED either way, and no process of the task left behind.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cluster,
  isAlive,
  processesUnder,
  startCluster,
  stopCluster,
  tempDir,
  waitUntil,
} from './support/cluster.js';
import { TestFramework, commandTask } from './support/framework.js';

let cluster: Cluster | undefined;
let fw: TestFramework;
let pids: string;

beforeAll(async () => {
  cluster = await startCluster();
  fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-kill' });
  pids = tempDir('kill-pids');
});

afterAll(async () => {
  await fw?.teardown().catch(() => undefined);
  await stopCluster(cluster);
  rmSync(pids, { recursive: true, force: true });
});

/** Launches `script` (which first writes its pid to a file), waits for TASK_RUNNING and the pid. */
async function runUntilRunning(taskId: string, script: string, killGraceMs?: number): Promise<number> {
  const pidFile = join(pids, taskId);
  await fw.launch([commandTask(taskId, `echo $$ > ${pidFile}; ${script}`, killGraceMs === undefined ? {} : { killGraceMs })]);
  await fw.waitForState(taskId, 'TASK_RUNNING');
  await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, `${taskId} to write its pid`);
  return Number(readFileSync(pidFile, 'utf8').trim());
}

function sandboxProcesses(taskId: string) {
  return processesUnder(cluster!.workDir).filter((p) => p.cmdline.includes('sleep') || p.cmdline.includes(taskId));
}

describe('killing tasks', () => {
  it('lets a task that ignores SIGTERM run for its grace period, then SIGKILLs its whole group', async () => {
    // `trap '' TERM` is inherited by `sleep`, so only SIGKILL ends either of them.
    const pid = await runUntilRunning('stubborn', "trap '' TERM; sleep 120", 1500);
    // The leftover-process check used below (and by stopCluster) does see the task's processes.
    expect(sandboxProcesses('stubborn').map((p) => p.pid)).toContain(pid);
    const started = Date.now();
    await fw.client.kill('stubborn');
    const killed = await fw.waitForTerminal('stubborn', 15_000);
    const elapsedMs = Date.now() - started;
    expect(killed.state).toBe('TASK_KILLED');
    expect(elapsedMs, 'TASK_KILLED came before the grace period ended').toBeGreaterThanOrEqual(1400);
    expect(elapsedMs).toBeLessThan(1500 + 5000);
    expect(isAlive(pid)).toBe(false);
    await waitUntil(() => sandboxProcesses('stubborn').length === 0, 3000, 'the task\'s sleep to be gone too');
  });

  it('ends a task that exits on SIGTERM well before its grace period, still as TASK_KILLED', async () => {
    const pid = await runUntilRunning('polite', "trap 'exit 0' TERM; while :; do sleep 0.1; done", 20_000);
    const started = Date.now();
    await fw.client.kill('polite');
    const killed = await fw.waitForTerminal('polite', 15_000);
    expect(killed.state).toBe('TASK_KILLED');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isAlive(pid)).toBe(false);
  });

  it("uses the KILL call's kill_policy over the task's own", async () => {
    const pid = await runUntilRunning('override', "trap '' TERM; sleep 120", 60_000);
    const started = Date.now();
    await fw.client.kill('override', undefined, 300);
    const killed = await fw.waitForTerminal('override', 15_000);
    expect(killed.state).toBe('TASK_KILLED');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isAlive(pid)).toBe(false);
  });

  it('answers a KILL of a task the master does not know with a reconciliation update', async () => {
    await fw.client.kill('never-launched');
    const status = await fw.until(() => fw.statuses.get('never-launched')?.[0], 10_000, 'an update for never-launched');
    // Partition-aware framework, no agent given: the master cannot know it (facts 1.2, 5.3).
    expect(status.state).toBe('TASK_UNKNOWN');
    expect(status.uuid).toBeUndefined();
  });
});
