/**
 * The agent alone, end to end: a real agent (HTTP server, processes, files) against a fake
 * master that speaks the agent link, so each step of the link can be driven and checked.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AGENT_LINK_PATH,
  AgentCall,
  type AgentEvent,
  type AgentSubscribe,
  decodeJsonBody,
  type FrameworkInfo,
  type TaskInfo,
  type TaskStatus,
} from '../src/api/index.js';
import { bodyText, createHttpServer, EventStream, request } from '../src/http/index.js';
import { type AgentHandle, startAgent } from '../src/main/agent.js';
import { silentLogger } from '../src/main/logging.js';

/**
 * A test double of the master's end of the agent link: accepts SUBSCRIBE, holds the stream,
 * records every call, and lets a test send events. The agent under test is the real one.
 */
class FakeMaster {
  readonly calls: AgentCall[] = [];
  readonly subscriptions: AgentSubscribe[] = [];
  private stream: EventStream | undefined;
  private streamId = '';
  private streams = 0;
  private app!: FastifyInstance;
  url = '';

  constructor(private readonly agentId = 'M1-S0') {}

  async start(): Promise<this> {
    this.app = createHttpServer({ logger: silentLogger() });
    this.app.post(AGENT_LINK_PATH, (request, reply) => {
      const call = decodeJsonBody(AgentCall, bodyText(request.body), 'agent.Call');
      if (call.type === 'SUBSCRIBE') {
        this.subscriptions.push(call.subscribe);
        this.streamId = `stream-${++this.streams}`;
        this.stream?.close();
        this.stream = new EventStream(reply, { 'Mesos-Stream-Id': this.streamId });
        this.stream.send({
          type: 'SUBSCRIBED',
          subscribed: {
            agent_id: { value: this.agentId },
            master_info: { id: 'M1', ip: 0, port: 5050, hostname: 'fake-master' },
            ping_interval_seconds: 15,
          },
        });
        return reply;
      }
      if (request.headers['mesos-stream-id'] !== this.streamId) return reply.code(400).send('bad Mesos-Stream-Id');
      this.calls.push(call);
      return reply.code(202).send();
    });
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.url = `127.0.0.1:${(this.app.server.address() as AddressInfo).port}`;
    return this;
  }

  send(event: AgentEvent): void {
    if (this.stream === undefined || !this.stream.send(event)) throw new Error('no agent stream to send on');
  }

  /** Breaks the stream as a master restart or a network blip would. */
  dropStream(): void {
    this.stream?.close();
    this.stream = undefined;
  }

  /** Status updates received, in order. */
  updates(): TaskStatus[] {
    return this.calls.flatMap((c) => (c.type === 'STATUS_UPDATE' ? [c.status_update.status] : []));
  }

  /** Waits for the n-th (1-based) status update of `taskId` and returns it. */
  async update(taskId: string, n: number, timeoutMs = 5_000): Promise<TaskStatus> {
    let found: TaskStatus | undefined;
    await until(() => (found = this.updates().filter((s) => s.task_id.value === taskId)[n - 1]) !== undefined, timeoutMs);
    return found!;
  }

  acknowledge(frameworkId: string, status: TaskStatus): void {
    this.send({
      type: 'ACKNOWLEDGE',
      acknowledge: { framework_id: { value: frameworkId }, task_id: status.task_id, uuid: status.uuid! },
    });
  }

  async stop(): Promise<void> {
    this.stream?.close();
    await this.app.close();
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isRoot = process.getuid?.() === 0;
const user = userInfo().username;
let master: FakeMaster;
let agent: AgentHandle;
let workDir: string;
/** Every task process the tests saw, checked dead after each test. */
const taskPids = new Set<number>();

beforeEach(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-agent-e2e-'));
  chmodSync(workDir, 0o755);
  master = await new FakeMaster().start();
  agent = await startAgent({
    master: master.url,
    workDir,
    ip: '127.0.0.1',
    port: 0,
    resources: 'cpus:2;mem:1024',
    attributes: 'rack:r1;level:3',
    logger: silentLogger(),
    executorShutdownGracePeriodMs: 300,
    // These tests follow task processes by host pid; the oci launcher has its own tests.
    isolation: 'posix',
  });
  await until(() => agent.agentId() !== undefined);
});

afterEach(async () => {
  await agent.stop();
  await master.stop();
  for (const pid of taskPids) expect(alive(pid), `task process ${pid} outlived the agent`).toBe(false);
  taskPids.clear();
  rmSync(workDir, { recursive: true, force: true });
});

function framework(extra: Partial<FrameworkInfo> = {}): FrameworkInfo {
  return { user, name: 'e2e', id: { value: 'f1' }, ...extra };
}

function runTask(taskId: string, command: TaskInfo['command'], info = framework(), extra: Partial<TaskInfo> = {}): void {
  master.send({
    type: 'RUN_TASK',
    run_task: {
      framework_id: { value: 'f1' },
      framework_info: info,
      task: {
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: 'M1-S0' },
        resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
        command,
        ...extra,
      },
    },
  });
}

/** Acknowledges updates of `taskId` as they come, until its n-th; returns them all. */
async function ackThrough(taskId: string, n: number): Promise<TaskStatus[]> {
  const seen: TaskStatus[] = [];
  for (let i = 1; i <= n; i++) {
    const status = await master.update(taskId, i);
    const pid = status.container_status?.executor_pid;
    if (pid !== undefined) taskPids.add(pid);
    master.acknowledge('f1', status);
    seen.push(status);
  }
  return seen;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const getJson = async (path: string) => JSON.parse((await request(`${agent.url}${path}`, undefined)).text) as Record<string, unknown>;

describe('agent, alone against a fake master', () => {
  it('subscribes with what it offers and shows itself on /state, /metrics/snapshot, /health and /flags', async () => {
    const [subscription] = master.subscriptions;
    const port = Number(new URL(agent.url).port);
    expect(subscription!.endpoint).toEqual({ ip: '127.0.0.1', port });
    expect(subscription!.agent_info.id).toBeUndefined();
    const names = subscription!.agent_info.resources!.map((r) => r.name).sort();
    expect(names).toEqual(['cpus', 'disk', 'mem', 'ports']); // disk and ports autodetected.
    expect(subscription!.agent_info.attributes).toEqual([
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'level', type: 'SCALAR', scalar: { value: 3 } },
    ]);

    for (const path of ['/state', '/slave(1)/state']) {
      const state = await getJson(path);
      expect(state).toMatchObject({
        id: 'M1-S0',
        pid: `slave(1)@127.0.0.1:${port}`,
        master_hostname: 'fake-master',
        resources: { cpus: 2, mem: 1024, ports: '[31000-32000]' },
        attributes: { rack: 'r1', level: 3 },
        frameworks: [],
        completed_frameworks: [],
      });
    }
    const metrics = await getJson('/metrics/snapshot');
    expect(metrics).toMatchObject({ 'slave/registered': 1, 'slave/cpus_total': 2, 'slave/mem_total': 1024, 'slave/tasks_running': 0 });
    const health = await request(`${agent.url}/health`, undefined);
    expect([health.status, health.text]).toEqual([200, '']);
    expect(((await getJson('/flags')).flags as Record<string, string>).executor_shutdown_grace_period).toBe('300ms');

    master.send({ type: 'PING' });
    await until(() => master.calls.some((c) => c.type === 'PONG' && c.agent_id.value === 'M1-S0'));
  });

  it('runs a command task through STARTING, RUNNING, FINISHED, one update in flight at a time', async () => {
    runTask('t1', { value: 'echo "hello from $MESOS_TASK_ID"; env > env.txt' });
    const starting = await master.update('t1', 1);
    expect(starting).toMatchObject({ state: 'TASK_STARTING', source: 'SOURCE_EXECUTOR', agent_id: { value: 'M1-S0' } });
    await new Promise((r) => setTimeout(r, 150));
    expect(master.updates()).toHaveLength(1); // RUNNING waits for STARTING's acknowledgement.

    const [, running, finished] = await ackThrough('t1', 3);
    expect(running).toMatchObject({ state: 'TASK_RUNNING', executor_id: { value: 't1' } });
    expect(finished).toMatchObject({ state: 'TASK_FINISHED', source: 'SOURCE_EXECUTOR', message: 'Command exited with status 0' });
    const call = master.calls.find((c) => c.type === 'STATUS_UPDATE' && c.status_update.status.uuid === finished!.uuid);
    expect(call).toMatchObject({ agent_id: { value: 'M1-S0' }, status_update: { framework_id: { value: 'f1' }, latest_state: 'TASK_FINISHED' } });

    const sandbox = '/frameworks/f1/executors/t1/runs/latest';
    const read = await getJson(`/files/read?path=${encodeURIComponent(`${sandbox}/stdout`)}&offset=0`);
    expect(read).toEqual({ offset: 0, data: 'hello from t1\n' });
    const env = (await getJson(`/files/read?path=${encodeURIComponent(`${sandbox}/env.txt`)}&offset=0`)).data as string;
    const directory = /^MESOS_SANDBOX=(.*)$/m.exec(env)?.[1];
    expect(directory).toMatch(new RegExp(`^${workDir}/slaves/M1-S0/frameworks/f1/executors/t1/runs/[0-9a-f-]{36}$`));
    for (const line of ['MESOS_FRAMEWORK_ID=f1', 'MESOS_EXECUTOR_ID=t1', `MESOS_DIRECTORY=${directory}`, `HOME=${directory}`]) {
      expect(env).toContain(`${line}\n`);
    }
    expect(env).toContain(`MESOS_AGENT_ENDPOINT=${new URL(agent.url).host}\n`);
    expect(env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    expect(env).not.toContain('VITEST');

    await until(async () => ((await getJson('/state')).completed_frameworks as unknown[]).length === 1, 2_000);
  });

  it('kills a task that ignores SIGTERM: KILLING, then SIGKILL after the grace period, then KILLED', async () => {
    runTask('t2', { value: "trap '' TERM; sleep 30 & wait; wait" }, framework({ capabilities: [{ type: 'TASK_KILLING_STATE' }] }));
    await ackThrough('t2', 2);
    const started = Date.now();
    master.send({ type: 'KILL_TASK', kill_task: { framework_id: { value: 'f1' }, task_id: { value: 't2' }, kill_policy: { grace_period: { nanoseconds: 250e6 } } } });
    const [, , killing, killed] = await ackThrough('t2', 4);
    expect(killing!.state).toBe('TASK_KILLING');
    expect(killed).toMatchObject({ state: 'TASK_KILLED', message: 'Command terminated with signal Killed' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    for (const pid of taskPids) expect(alive(pid)).toBe(false);
  });

  it('fails tasks that exit non-zero or cannot start, and answers kills of unknown tasks', async () => {
    runTask('t3', { value: 'exit 7' });
    expect((await ackThrough('t3', 3))[2]).toMatchObject({ state: 'TASK_FAILED', message: 'Command exited with status 7' });

    runTask('t4', { shell: false, value: '/no/such/program', arguments: ['prog'] });
    const [, failed] = await ackThrough('t4', 2);
    expect(failed).toMatchObject({ state: 'TASK_FAILED', source: 'SOURCE_AGENT', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(failed!.message).toMatch(/\/no\/such\/program.*ENOENT/);

    master.send({ type: 'KILL_TASK', kill_task: { framework_id: { value: 'f1' }, task_id: { value: 'ghost' } } });
    expect(await master.update('ghost', 1)).toMatchObject({ state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED' });
    expect(await getJson('/metrics/snapshot')).toMatchObject({ 'slave/tasks_failed': 2, 'slave/container_launch_errors': 1, 'slave/tasks_lost': 1 });
  });

  it.runIf(isRoot)('fails a task whose user does not exist, naming the user', async () => {
    runTask('t5', { value: 'true', user: 'no-such-user-agora' });
    const [, failed] = await ackThrough('t5', 2);
    expect(failed).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
    expect(failed!.message).toMatch(/'no-such-user-agora'/);
  });

  it('resubscribes after the stream breaks, reporting its tasks and resending the unacknowledged update', async () => {
    runTask('t6', { value: 'sleep 30' });
    const starting = await master.update('t6', 1);
    await until(async () => JSON.stringify((await getJson('/state')).frameworks).includes('"state":"TASK_RUNNING"'), 2_000);
    master.dropStream();
    await until(() => master.subscriptions.length === 2, 3_000);

    const again = master.subscriptions[1]!;
    expect(again.agent_info.id).toEqual({ value: 'M1-S0' });
    expect(again.tasks).toEqual([
      expect.objectContaining({
        framework_id: { value: 'f1' },
        state: 'TASK_RUNNING',
        status_update_state: 'TASK_STARTING',
        status_update_uuid: starting.uuid,
      }),
    ]);
    expect(again.frameworks).toEqual([expect.objectContaining({ id: { value: 'f1' }, user })]);
    const resent = await master.update('t6', 2);
    expect(resent.uuid).toBe(starting.uuid);
    master.acknowledge('f1', resent);
    const running = await master.update('t6', 3);
    expect(running.state).toBe('TASK_RUNNING');
    taskPids.add(running.container_status!.executor_pid!);
  });

  it('stops: kills every task, even one ignoring SIGTERM, unsubscribes, and leaves no process behind', async () => {
    runTask('t7', { value: 'sleep 30' });
    runTask('t8', { value: "trap '' TERM; sleep 30 & wait; wait" });
    await ackThrough('t7', 2);
    await ackThrough('t8', 2);
    const started = Date.now();
    await agent.stop();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(master.calls.map((c) => c.type)).toContain('UNSUBSCRIBE');
    for (const pid of taskPids) expect(alive(pid)).toBe(false);
    await expect(request(`${agent.url}/health`, undefined)).rejects.toThrow();
  });

  it('stops when the master tells it to shut down, killing its tasks', async () => {
    runTask('t9', { value: 'sleep 30' });
    await ackThrough('t9', 2);
    master.send({ type: 'SHUTDOWN', shutdown: { message: 'agent removed' } });
    await until(async () => {
      try {
        await request(`${agent.url}/health`, undefined);
        return false;
      } catch {
        return true;
      }
    });
    for (const pid of taskPids) expect(alive(pid)).toBe(false);
  });
});

describe('startAgent configuration errors', () => {
  it.each([
    [{ resources: 'cpu:2' }, /^--resources: .*did you mean "cpus"/],
    [{ resources: 'cpus:two' }, /^--resources: .*"two" is not a number/],
    [{ attributes: 'rack' }, /^--attributes: "rack": expected name:value/],
    [{ master: 'zk://h:2181/mesos' }, /^--master: .*host:port/],
    [{ master: 'nohostport' }, /^--master: .*host:port/],
  ])('refuses %o naming the flag', async (bad, message) => {
    const attempt = startAgent({ master: '127.0.0.1:1', workDir, ip: '127.0.0.1', port: 0, logger: silentLogger(), ...bad });
    await expect(attempt).rejects.toMatchObject({ code: 'AGORA_ERR_VALIDATION', message: expect.stringMatching(message) });
  });
});

