/**
 * A framework runs command tasks on `agora local`: many at once to TASK_FINISHED, each in its
 * own sandbox with the Mesos environment, and failing commands to TASK_FAILED with their status.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, getJson, masterState, startCluster, stopCluster, waitUntil } from './support/cluster.js';
import { TestFramework, commandTask } from './support/framework.js';

let cluster: Cluster | undefined;
let fw: TestFramework;

beforeAll(async () => {
  cluster = await startCluster();
  fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-tasks' });
});

afterAll(async () => {
  await fw?.teardown().catch(() => undefined);
  await stopCluster(cluster);
});

/** Every regular file named `name` under `dir`, recursively. */
function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findFiles(path, name));
    else if (entry.name === name && statSync(path).isFile()) out.push(path);
  }
  return out;
}

describe('command tasks on agora local', () => {
  it('runs 50 tasks from one ACCEPT to TASK_FINISHED, each with its own sandbox and output', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `echo-${i}`);
    // 50 x (cpus:0.01;mem:8) fit in one offer of the test agent.
    const offer = await fw.takeOffer('cpus:0.5;mem:400');
    await fw.client.launch(
      offer,
      ids.map((id) => commandTask(id, 'echo "task $MESOS_TASK_ID"')),
    );
    const finals = await Promise.all(ids.map((id) => fw.waitForTerminal(id, 45_000)));
    expect(finals.map((s) => s.state)).toEqual(ids.map(() => 'TASK_FINISHED'));
    for (const id of ids) {
      const states = fw.states(id);
      expect(states.indexOf('TASK_RUNNING'), `${id}: ${states.join('>')}`).toBeGreaterThanOrEqual(0);
      expect(states.indexOf('TASK_RUNNING')).toBeLessThan(states.indexOf('TASK_FINISHED'));
    }
    // Agent updates carry a uuid (they must be acknowledged) and name the agent.
    expect(finals.every((s) => s.uuid !== undefined && s.agent_id?.value === offer.agent_id.value)).toBe(true);

    // Sandboxes: work_dir/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>/stdout
    const sandboxOut = findFiles(cluster!.workDir, 'stdout').filter((p) =>
      p.includes(`/slaves/${offer.agent_id.value}/frameworks/${fw.frameworkId}/executors/`),
    );
    expect(sandboxOut.every((p) => /\/runs\/[^/]+\/stdout$/.test(p))).toBe(true);
    const printed = sandboxOut.map((p) => readFileSync(p, 'utf8')).join('');
    for (const id of ids) expect(printed).toContain(`task ${id}\n`);

    // The master agrees: all 50 completed, none still running.
    await waitUntil(
      async () => {
        const state = await masterState(cluster!);
        const mine = state.frameworks.find((f) => f.id === fw.frameworkId);
        return mine !== undefined && mine.tasks.length === 0 &&
          mine.completed_tasks.filter((t) => ids.includes(t.id) && t.state === 'TASK_FINISHED').length === 50;
      },
      10_000,
      '/master/state to show 50 finished tasks',
    );
    const metrics = await getJson<Record<string, number>>(`${cluster!.masterUrl}/metrics/snapshot`);
    expect(metrics['master/tasks_finished']).toBeGreaterThanOrEqual(50);
  });

  it('gives each task the Mesos environment, its CommandInfo environment and its sandbox as cwd', async () => {
    const check = [
      'test "$MESOS_TASK_ID" = env-1',
      `test "$MESOS_FRAMEWORK_ID" = "${fw.frameworkId}"`,
      'test -n "$MESOS_SANDBOX"',
      'test "$(pwd -P)" = "$(cd "$MESOS_SANDBOX" && pwd -P)"',
      'test -n "$MESOS_AGENT_ENDPOINT"',
      'test "$GREETING" = "hello there"',
    ].join(' && ');
    await fw.launch([commandTask('env-1', check, { env: { GREETING: 'hello there' } })]);
    const final = await fw.waitForTerminal('env-1');
    expect(final.state, final.message).toBe('TASK_FINISHED');
  });

  it('reports a failing command as TASK_FAILED with its exit status in the message', async () => {
    await fw.launch([commandTask('fail-3', 'echo about to fail; exit 3'), commandTask('no-such-command', 'agora-no-such-command-xyz')]);
    const failed = await fw.waitForTerminal('fail-3');
    expect(failed.state).toBe('TASK_FAILED');
    expect(failed.message).toMatch(/Command exited with status 3/);
    const missing = await fw.waitForTerminal('no-such-command');
    expect(missing.state).toBe('TASK_FAILED');
    expect(missing.message).toMatch(/Command exited with status 127/);
    expect(fw.states('fail-3')).not.toContain('TASK_FINISHED');
  });

  it('runs the argv form (shell=false) without a shell', async () => {
    const task = commandTask('argv-1', '');
    task.command = { shell: false, value: '/bin/sh', arguments: ['sh', '-c', 'exit 4'] };
    await fw.launch([task]);
    const final = await fw.waitForTerminal('argv-1');
    expect(final.state).toBe('TASK_FAILED');
    expect(final.message).toMatch(/status 4/);
  });
});
