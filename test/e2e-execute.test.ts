/**
 * `agora execute` against `agora local`, as a user runs it: it prints each state change, exits
 * with the task's exit status, explains an offer that never fits, and tears its framework down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cluster,
  masterState,
  processesUnder,
  runCli,
  spawnCli,
  startCluster,
  stopCluster,
  waitUntil,
} from './support/cluster.js';

let cluster: Cluster | undefined;

beforeAll(async () => {
  cluster = await startCluster();
});

afterAll(async () => {
  await stopCluster(cluster);
});

const small = ['--resources', 'cpus:0.1;mem:32'];

describe('agora execute', () => {
  it('runs a command to TASK_FINISHED, prints each state change and exits 0', async () => {
    const r = await runCli(['execute', '--master', cluster!.master, '--name', 'hello', '--command', 'echo hello', ...small]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Subscribed with ID \S+$/m);
    expect(r.stdout).toMatch(/^Submitted task 'hello'/m);
    expect(r.stdout).toMatch(/^Received status update TASK_RUNNING for task 'hello'$/m);
    expect(r.stdout).toMatch(/^Received status update TASK_FINISHED for task 'hello'$/m);
    expect(r.stdout.indexOf('TASK_RUNNING')).toBeLessThan(r.stdout.indexOf('TASK_FINISHED'));
  });

  it("exits with the command's exit status and shows the message", async () => {
    const r = await runCli(['execute', '--master', cluster!.master, '--name', 'three', '--command', 'exit 3', ...small]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/Received status update TASK_FAILED for task 'three'/);
    expect(r.stdout).toMatch(/message: 'Command exited with status 3'/);
  });

  it('takes Mesos flag spellings and a --task JSON without agent_id', async () => {
    const task = {
      name: 'from-json',
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
      ],
      command: { value: 'test "$WHO" = json && exit 7', environment: { variables: [{ name: 'WHO', value: 'json' }] } },
    };
    const r = await runCli(['execute', `--master=${cluster!.master}`, '--partition_aware=false', '--task', JSON.stringify(task)]);
    expect(r.code, r.stdout + r.stderr).toBe(7);
    expect(r.stdout).toMatch(/TASK_FAILED for task 'from-json'/);
  });

  it('kills the task after --kill_after and reports TASK_KILLED', async () => {
    const r = await runCli([
      'execute', '--master', cluster!.master, '--name', 'sleepy', '--command', 'sleep 60', '--kill_after', '500ms', ...small,
    ]);
    expect(r.stdout).toMatch(/Received status update TASK_KILLED for task 'sleepy'/);
    // "Command terminated with signal Terminated": 128 + SIGTERM, as a shell would report it.
    expect(r.stdout).toMatch(/message: 'Command terminated with signal Terminated'/);
    expect(r.code).toBe(143);
  });

  it('kills the task on Ctrl-C (SIGINT), waits for TASK_KILLED and exits', async () => {
    const child = spawnCli(['execute', '--master', cluster!.master, '--name', 'interrupted', '--command', 'sleep 60', ...small]);
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await waitUntil(() => /TASK_RUNNING for task 'interrupted'/.test(stdout), 15_000, 'TASK_RUNNING from agora execute');
    child.kill('SIGINT');
    const code = await exited;
    expect(stdout).toMatch(/Received status update TASK_KILLED for task 'interrupted'/);
    expect(code).toBe(143);
    expect(processesUnder(cluster!.workDir).filter((p) => p.cmdline.includes('sleep 60'))).toEqual([]);
  });

  it('says why when no offer can hold the task, and exits 1', async () => {
    const r = await runCli([
      'execute', '--master', cluster!.master, '--name', 'huge', '--command', 'true',
      '--resources', 'cpus:1000;mem:32', '--offer_timeout', '2secs',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no offer could hold the task within 2secs/);
    expect(r.stderr).toMatch(/cpus: asked 1000, offered 8/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('leaves no framework behind', async () => {
    await waitUntil(
      async () => (await masterState(cluster!)).frameworks.filter((f) => f.active).length === 0,
      10_000,
      'every execute framework to be torn down',
    );
    const state = await masterState(cluster!);
    expect(state.completed_frameworks.map((f) => f.name)).toEqual(
      expect.arrayContaining(['hello', 'three', 'from-json', 'sleepy', 'interrupted', 'huge']),
    );
  });

  it('says clearly when the master is not there', async () => {
    const r = await runCli(['execute', '--master', '127.0.0.1:1', '--command', 'true', '--connect_timeout', '1secs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/agora execute: cannot reach the master at 127\.0\.0\.1:1/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
