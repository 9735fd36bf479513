/**
 * A custom executor on `agora local`: a small Node program written here, speaking the v1 Executor
 * API over plain HTTP (no agora code), runs two tasks. It keeps every update until the agent
 * ACKNOWLEDGES it and sends the ones it never saw acknowledged again when it subscribes anew;
 * the agent retries each update to the framework until the framework acknowledges it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorInfo, SchedulerEvent, TaskInfo, TaskStatus } from '../src/api/index.js';
import { parseResourceSpec } from '../src/cli/resources-spec.js';
import { type Cluster, masterState, processesUnder, startCluster, stopCluster, tempDir, waitUntil } from './support/cluster.js';
import { TestFramework } from './support/framework.js';

/**
 * The executor. It subscribes, reports its environment in a MESSAGE, echoes MESSAGEs back, and
 * for each LAUNCH sends TASK_RUNNING then (after `data` ms, base64) TASK_FINISHED. Before its very
 * first update it drops its stream, so that update is refused (403), stays unacknowledged, and
 * goes again in the next SUBSCRIBE's unacknowledged_updates. It exits once every task it ran has
 * finished and every update is acknowledged.
 */
const EXECUTOR = String.raw`
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const agent = process.env.MESOS_AGENT_ENDPOINT;
const ids = { framework_id: { value: process.env.MESOS_FRAMEWORK_ID }, executor_id: { value: process.env.MESOS_EXECUTOR_ID } };
const unacknowledged = new Map(); // uuid -> status
const tasks = new Map(); // task id -> { info, finished }
let stream;
let droppedOnce = false;

function post(body) {
  return new Promise((resolve) => {
    const req = http.request('http://' + agent + '/api/v1/executor', { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.end(JSON.stringify(body));
  });
}

async function update(task, state) {
  const status = { task_id: task.task_id, state, source: 'SOURCE_EXECUTOR', uuid: randomBytes(16).toString('base64'), timestamp: Date.now() / 1000 };
  unacknowledged.set(status.uuid, status);
  if (!droppedOnce) {
    droppedOnce = true;
    stream.destroy(); // The agent sees the stream close; this update cannot be delivered now.
    const code = await post({ ...ids, type: 'UPDATE', update: { status } });
    console.error('update while unsubscribed answered', code);
    setTimeout(subscribe, 200);
    return;
  }
  await post({ ...ids, type: 'UPDATE', update: { status } });
}

function maybeExit() {
  if (tasks.size === 2 && [...tasks.values()].every((t) => t.finished) && unacknowledged.size === 0) process.exit(0);
}

function onEvent(event) {
  switch (event.type) {
    case 'SUBSCRIBED':
      post({ ...ids, type: 'MESSAGE', message: { data: Buffer.from(JSON.stringify({
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MESOS_'))),
        cwd: process.cwd(),
        container: event.subscribed.container_id,
        agent: event.subscribed.agent_info.hostname,
      })).toString('base64') } });
      break;
    case 'LAUNCH': {
      const info = event.launch.task;
      if (tasks.has(info.task_id.value)) break;
      const task = { info, finished: false };
      tasks.set(info.task_id.value, task);
      void update(info, 'TASK_RUNNING').then(() => {
        setTimeout(async () => {
          task.finished = true;
          await update(info, 'TASK_FINISHED');
        }, Number(Buffer.from(info.data ?? '', 'base64').toString() || '0'));
      });
      break;
    }
    case 'ACKNOWLEDGED':
      unacknowledged.delete(event.acknowledged.uuid);
      maybeExit();
      break;
    case 'MESSAGE':
      post({ ...ids, type: 'MESSAGE', message: { data: Buffer.from('echo:' + Buffer.from(event.message.data, 'base64').toString()).toString('base64') } });
      break;
    case 'SHUTDOWN':
      process.exit(0);
  }
}

function subscribe() {
  const body = { ...ids, type: 'SUBSCRIBE', subscribe: {
    unacknowledged_tasks: [...tasks.values()].map((t) => t.info),
    unacknowledged_updates: [...unacknowledged.values()].map((status) => ({ status })),
  } };
  const req = http.request('http://' + agent + '/api/v1/executor', { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' } }, (res) => {
    if (res.statusCode !== 200) { console.error('SUBSCRIBE answered', res.statusCode); process.exit(2); }
    stream = res;
    let buffer = Buffer.alloc(0);
    res.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const newline = buffer.indexOf(10);
        if (newline < 0) break;
        const length = Number(buffer.subarray(0, newline).toString());
        if (buffer.length < newline + 1 + length) break;
        const record = buffer.subarray(newline + 1, newline + 1 + length).toString();
        buffer = buffer.subarray(newline + 1 + length);
        onEvent(JSON.parse(record));
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', (err) => { console.error('cannot subscribe', err.message); process.exit(3); });
  req.end(JSON.stringify(body));
}

subscribe();
`;

let cluster: Cluster | undefined;
let fw: TestFramework;
let dir: string;
const events: SchedulerEvent[] = [];
/** TASK_RUNNING of ce-1 is not acknowledged until the test says so. */
let withholding = true;

beforeAll(async () => {
  dir = tempDir('executor');
  writeFileSync(join(dir, 'executor.mjs'), EXECUTOR);
  cluster = await startCluster();
  fw = await TestFramework.subscribe({
    master: cluster.master,
    name: 'e2e-executor',
    // Checkpointing: an executor whose stream breaks may come back (facts 2.2).
    info: { checkpoint: true },
    autoAck: (status) => !(withholding && status.task_id.value === 'ce-1' && status.state === 'TASK_RUNNING'),
  });
  fw.client.on((event) => events.push(event));
});

afterAll(async () => {
  await fw?.teardown().catch(() => undefined);
  await stopCluster(cluster);
  rmSync(dir, { recursive: true, force: true });
});

function resources(spec: string) {
  const parsed = parseResourceSpec(spec);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

const executor = (id = 'test-executor'): ExecutorInfo => ({
  type: 'CUSTOM',
  executor_id: { value: id },
  name: 'a test executor in plain Node',
  command: { shell: false, value: process.execPath, arguments: ['node', join(dir, 'executor.mjs')] },
  resources: resources('cpus:0.1;mem:32'),
});

function task(id: string, finishAfterMs: number, executorId?: string): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: '' },
    resources: resources('cpus:0.1;mem:16'),
    executor: executor(executorId),
    data: Buffer.from(String(finishAfterMs)).toString('base64'),
  };
}

function messages(): string[] {
  return events.flatMap((e) => (e.type === 'MESSAGE' ? [Buffer.from(e.message.data, 'base64').toString()] : []));
}

describe('a custom executor', () => {
  it('runs two tasks; its updates reach the framework once each, retried by the agent until acknowledged', { timeout: 60_000 }, async () => {
    const offer = await fw.takeOffer('cpus:1;mem:128');
    await fw.client.launch(offer, [task('ce-1', 500), task('ce-2', 500)]);

    // The executor's environment, as it reports it (executor -> framework MESSAGE).
    const hello = JSON.parse(await fw.until(() => messages()[0], 20_000, "the executor's first MESSAGE")) as {
      env: Record<string, string>;
      cwd: string;
      container: { value: string };
      agent: string;
    };
    expect(hello.env).toMatchObject({
      MESOS_FRAMEWORK_ID: fw.frameworkId,
      MESOS_EXECUTOR_ID: 'test-executor',
      MESOS_AGENT_ENDPOINT: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      MESOS_CHECKPOINT: '1',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      MESOS_SANDBOX: hello.cwd,
      MESOS_DIRECTORY: hello.cwd,
    });
    expect(hello.cwd).toContain(`/executors/test-executor/runs/${hello.container.value}`);

    // framework -> executor MESSAGE, echoed back.
    await fw.client.call({ type: 'MESSAGE', message: { agent_id: offer.agent_id, executor_id: { value: 'test-executor' }, data: Buffer.from('ping').toString('base64') } });
    await fw.until(() => (messages().includes('echo:ping') ? true : undefined), 10_000, 'the echo of a framework message');

    // ce-2 is acknowledged as it goes; ce-1's TASK_RUNNING is withheld.
    expect((await fw.waitForTerminal('ce-2', 20_000)).state).toBe('TASK_FINISHED');
    const first = await fw.waitForState('ce-1', 'TASK_RUNNING', 20_000);
    const firstAt = Date.now();
    expect(first).toMatchObject({ source: 'SOURCE_EXECUTOR', executor_id: { value: 'test-executor' } });

    // Unacknowledged, the agent sends it again (status update retry: 10 s first) and nothing after it.
    const again = await fw.until(() => (fw.statuses.get('ce-1') ?? []).filter((s) => s.state === 'TASK_RUNNING')[1], 20_000, 'TASK_RUNNING of ce-1 again');
    expect(again.uuid).toBe(first.uuid);
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(8_000);
    expect(fw.states('ce-1')).toEqual(['TASK_RUNNING', 'TASK_RUNNING']);

    withholding = false;
    await fw.client.acknowledge(again as TaskStatus);
    expect((await fw.waitForTerminal('ce-1', 20_000)).state).toBe('TASK_FINISHED');
    // Each state once per uuid: the update the executor sent again on resubscribing was not doubled.
    for (const id of ['ce-1', 'ce-2']) expect(new Set((fw.statuses.get(id) ?? []).map((s) => s.uuid)).size).toBe(2);

    // Its tasks done and acknowledged, the executor exits: FAILURE with its exit status, resources back.
    const failure = await fw.until(
      () => events.flatMap((e) => (e.type === 'FAILURE' && e.failure.executor_id !== undefined ? [e.failure] : []))[0],
      20_000,
      'FAILURE for the executor',
    );
    expect(failure).toEqual({ agent_id: offer.agent_id, executor_id: { value: 'test-executor' }, status: 0 });
    await waitUntil(async () => {
      const framework = (await masterState(cluster!)).frameworks.find((f) => f.id === fw.frameworkId);
      return (framework?.['executors'] as unknown[] | undefined)?.length === 0;
    }, 10_000, 'the executor gone from /master/state');
  });

  it('ends its unfinished task TASK_FAILED (REASON_EXECUTOR_TERMINATED) with FAILURE when it is killed with SIGKILL', { timeout: 60_000 }, async () => {
    const offer = await fw.takeOffer('cpus:0.5;mem:64');
    await fw.client.launch(offer, [task('ce-long', 600_000, 'doomed-executor')]);
    const running = await fw.waitForState('ce-long', 'TASK_RUNNING', 20_000);
    const executorProcess = processesUnder(cluster!.workDir).find((p) => p.cmdline.includes('executor.mjs'));
    expect(executorProcess, 'the executor process').toBeDefined();
    process.kill(executorProcess!.pid, 'SIGKILL');
    expect(await fw.waitForTerminal('ce-long', 20_000)).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', source: 'SOURCE_AGENT' });
    const failure = await fw.until(
      () => events.flatMap((e) => (e.type === 'FAILURE' && e.failure.executor_id?.value === 'doomed-executor' ? [e.failure] : []))[0],
      20_000,
      'FAILURE for the killed executor',
    );
    expect(failure).toEqual({ agent_id: running.agent_id ?? offer.agent_id, executor_id: { value: 'doomed-executor' }, status: 9 });
  });
});
