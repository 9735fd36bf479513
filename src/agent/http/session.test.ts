/**
 * Debug sessions over real HTTP (streams cannot be injected): LAUNCH_NESTED_CONTAINER_SESSION's
 * RecordIO output, ATTACH_CONTAINER_INPUT/OUTPUT, TTY and window size, WAIT/KILL, the session's
 * death with its connection, and the request rules. The "container" is a posix process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord, RecordIoDecoder } from '../../api/index.js';
import { createHttpServer, request } from '../../http/index.js';
import type { AgentCore } from '../core/index.js';
import { registerOperatorApi } from './operator.js';
import type { EnterableContainer } from './session.js';
import type { AgentDescription } from './views.js';

let app: FastifyInstance;
let url: string;
let sandbox: string;
let task: ChildProcess;
let ended: Promise<void>;
const PARENT = { value: 'task-container' };

beforeAll(async () => {
  sandbox = realpathSync(mkdtempSync(join(tmpdir(), 'agora-session-')));
  task = spawn('sleep', ['300'], { cwd: sandbox, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TASK_VAR: 'from-the-task' } });
  ended = new Promise((resolve) => task.once('exit', () => resolve()));
  const container: EnterableContainer = { containerId: PARENT.value, pid: task.pid!, directory: sandbox, entry: undefined, wait: () => ended };
  app = createHttpServer({ logger: pino({ level: 'silent' }) });
  registerOperatorApi(app, unused<AgentCore>, unused<AgentDescription>, () => [], {
    enterable: (id) => (id.value === PARENT.value && id.parent === undefined ? container : undefined),
    heartbeatIntervalMs: 200,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1`;
});

afterAll(async () => {
  await app.close();
  task.kill('SIGKILL');
  rmSync(sandbox, { recursive: true, force: true });
});

function unused<T>(): T {
  throw new Error('not used by these calls');
}

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

let nextId = 0;
const sessionId = () => ({ value: `session-${++nextId}`, parent: PARENT });

interface Record_ {
  type: string;
  data?: { type: string; data: string };
  control?: { type: string };
}

/** A streaming response: its status, headers and records as they come. */
interface Stream {
  status: number;
  headers: http.IncomingHttpHeaders;
  records: Record_[];
  text(type?: 'STDOUT' | 'STDERR'): string;
  /** Resolves when the server ends the stream. */
  done: Promise<void>;
  until(check: () => boolean, timeoutMs?: number): Promise<void>;
  destroy(): void;
}

function postStream(call: unknown, headers: Record<string, string> = { Accept: 'application/recordio', 'Message-Accept': 'application/json' }): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      const records: Record_[] = [];
      const decoder = new RecordIoDecoder();
      let body = '';
      const done = new Promise<void>((r) => {
        res.on('end', r);
        res.on('close', r);
      });
      res.on('data', (chunk: Buffer) => {
        if (res.statusCode !== 200) body += chunk.toString();
        else for (const record of decoder.push(chunk)) records.push(JSON.parse(record) as Record_);
      });
      const stream: Stream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        records,
        text: (type = 'STDOUT') =>
          records
            .filter((r) => r.type === 'DATA' && r.data?.type === type)
            .map((r) => Buffer.from(r.data!.data, 'base64').toString())
            .join('') || body,
        done,
        until: async (check, timeoutMs = 10_000) => {
          const deadline = Date.now() + timeoutMs;
          while (!check()) {
            if (Date.now() > deadline) throw new Error(`timed out; records: ${JSON.stringify(records)}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
        destroy: () => {
          res.destroy();
          req.destroy();
        },
      };
      resolve(stream);
    });
    req.end(JSON.stringify(call));
  });
}

const launch = (id: { value: string; parent: typeof PARENT }, command: Record<string, unknown>, container?: unknown) =>
  postStream({
    type: 'LAUNCH_NESTED_CONTAINER_SESSION',
    launch_nested_container_session: { container_id: id, command, ...(container === undefined ? {} : { container }) },
  });

const post = (body: unknown) => request(url, JSON.stringify(body));

async function waitStatus(id: unknown): Promise<number> {
  const response = await post({ type: 'WAIT_NESTED_CONTAINER', wait_nested_container: { container_id: id } });
  expect(response.status).toBe(200);
  return (JSON.parse(response.text) as { wait_nested_container: { exit_status: number } }).wait_nested_container.exit_status;
}

/** An ATTACH_CONTAINER_INPUT request: write ProcessIO records, end it, read its answer. */
function attachInput(id: unknown, headers: Record<string, string> = {}) {
  const req = http.request(url, {
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': 'application/recordio', 'Message-Content-Type': 'application/json', ...headers },
  });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
  });
  const write = (call: unknown) => req.write(encodeRecord(JSON.stringify(call)));
  const io = (processIo: unknown) => write({ type: 'ATTACH_CONTAINER_INPUT', attach_container_input: { type: 'PROCESS_IO', process_io: processIo } });
  write({ type: 'ATTACH_CONTAINER_INPUT', attach_container_input: { type: 'CONTAINER_ID', container_id: id } });
  return {
    stdin: (text: string) => io({ type: 'DATA', data: { type: 'STDIN', data: Buffer.from(text).toString('base64') } }),
    eof: () => io({ type: 'DATA', data: { type: 'STDIN', data: '' } }),
    resize: (rows: number, columns: number) => io({ type: 'CONTROL', control: { type: 'TTY_INFO', tty_info: { window_size: { rows, columns } } } }),
    heartbeat: () => io({ type: 'CONTROL', control: { type: 'HEARTBEAT', heartbeat: { interval: { nanoseconds: 1e9 } } } }),
    raw: (call: unknown) => write(call),
    end: () => req.end(),
    answer,
  };
}

describe('LAUNCH_NESTED_CONTAINER_SESSION', () => {
  it('streams stdout and stderr as ProcessIO records, ends with the process, and WAIT gives its status', async () => {
    const id = sessionId();
    const stream = await launch(id, { value: 'echo out; echo err >&2; pwd; echo "$TASK_VAR"; exit 3' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('application/recordio');
    expect(stream.headers['message-content-type']).toBe('application/json');
    await stream.done;
    // The task's sandbox and environment, as a process of the task would have them.
    expect(stream.text('STDOUT')).toBe(`out\n${sandbox}\nfrom-the-task\n`);
    expect(stream.text('STDERR')).toBe('err\n');
    expect(await waitStatus(id)).toBe(3 << 8);
    const modern = await post({ type: 'WAIT_CONTAINER', wait_container: { container_id: id } });
    expect(JSON.parse(modern.text)).toEqual({ type: 'WAIT_CONTAINER', wait_container: { exit_status: 3 << 8 } });
  });

  it('runs argv without a shell when shell is false, with the environment it is given', async () => {
    const id = sessionId();
    const stream = await launch(id, {
      shell: false,
      value: 'printenv',
      arguments: ['printenv', 'EXTRA', 'TASK_VAR'],
      environment: { variables: [{ name: 'EXTRA', type: 'VALUE', value: 'given' }] },
    });
    await stream.done;
    expect(stream.text()).toBe('given\nfrom-the-task\n');
    expect(await waitStatus(id)).toBe(0);
  });

  it('kills the session when its connection closes', async () => {
    const id = sessionId();
    // The shell and a child of it: both must go, the whole session and not only its main process.
    const stream = await launch(id, { value: 'sleep 300 & echo "pids $$ $!"; wait' });
    await stream.until(() => /pids \d+ \d+\n/.test(stream.text()));
    const pids = /pids (\d+) (\d+)/.exec(stream.text())!.slice(1).map(Number);
    stream.destroy();
    expect(await waitStatus(id)).toBe(9); // SIGKILL, as wait(2) reports a signal.
    // SIGKILL is sent to all of it before the status is recorded; a child may take a moment to die.
    for (let tries = 0; tries < 100 && pids.some(alive); tries++) await new Promise((r) => setTimeout(r, 50));
    for (const pid of pids) expect(alive(pid), `process ${pid} of the session`).toBe(false);
  });

  it('is killed by KILL_NESTED_CONTAINER', async () => {
    const id = sessionId();
    const stream = await launch(id, { value: 'echo started; exec sleep 300' });
    await stream.until(() => stream.text().includes('started'));
    expect((await post({ type: 'KILL_NESTED_CONTAINER', kill_nested_container: { container_id: id } })).status).toBe(200);
    await stream.done;
    expect(await waitStatus(id)).toBe(9);
  });

  it('sends heartbeats while the session is quiet', async () => {
    const id = sessionId();
    const stream = await launch(id, { value: 'sleep 0.6' });
    await stream.done;
    expect(stream.records.filter((r) => r.type === 'CONTROL' && r.control?.type === 'HEARTBEAT').length).toBeGreaterThanOrEqual(1);
  });

  it('gives the session a terminal of the size asked, and resizes it on TTY_INFO', async () => {
    const id = sessionId();
    const stream = await launch(id, { value: 'stty size; read line; stty size; tty' }, { type: 'MESOS', tty_info: { window_size: { rows: 30, columns: 100 } } });
    await stream.until(() => stream.text().includes('30 100'));
    const input = attachInput(id);
    // Records are applied in order: the resize is done before the line after it arrives.
    input.resize(40, 120);
    input.stdin('go\r');
    await stream.done;
    input.end();
    const text = stream.text();
    expect(text).toMatch(/30 100\r\n/);
    expect(text).toMatch(/40 120\r\n/);
    expect(text).toMatch(/\/dev\/pts\/\d+/);
    expect(stream.text('STDERR')).toBe(''); // A terminal carries both streams.
    expect(await waitStatus(id)).toBe(0);
  });
});

describe('ATTACH_CONTAINER_INPUT and ATTACH_CONTAINER_OUTPUT', () => {
  it('feeds stdin to the session; an empty DATA record is the end of input; the answer is 200 once input ends', async () => {
    const id = sessionId();
    const stream = await launch(id, { shell: false, value: 'cat', arguments: ['cat'] });
    const input = attachInput(id);
    input.heartbeat();
    input.stdin('hello ');
    input.stdin('world');
    input.eof();
    input.end();
    expect((await input.answer).status).toBe(200);
    await stream.done;
    expect(stream.text()).toBe('hello world');
    expect(await waitStatus(id)).toBe(0);
  });

  it('lets more clients watch the output, and one at a time type', async () => {
    const id = sessionId();
    const stream = await launch(id, { value: 'read line; echo "got $line"' });
    const watcher = await postStream({ type: 'ATTACH_CONTAINER_OUTPUT', attach_container_output: { container_id: id } });
    expect(watcher.status).toBe(200);
    const first = attachInput(id);
    first.heartbeat();
    await new Promise((r) => setTimeout(r, 200));
    const second = attachInput(id);
    second.end();
    const refused = await second.answer;
    expect(refused.status).toBe(409);
    first.stdin('hi\n');
    await Promise.all([stream.done, watcher.done]);
    first.end();
    expect(stream.text()).toBe('got hi\n');
    expect(watcher.text()).toBe('got hi\n');
    expect((await first.answer).status).toBe(200);
  });

  it('refuses a task container (no I/O switchboard), an unknown one, and an ended session', async () => {
    const task = await postStream({ type: 'ATTACH_CONTAINER_OUTPUT', attach_container_output: { container_id: PARENT } });
    expect(task.status).toBe(400);
    expect(task.text()).toMatch(/not launched with an I\/O switchboard/);
    const unknown = await postStream({ type: 'ATTACH_CONTAINER_OUTPUT', attach_container_output: { container_id: { value: 'nope' } } });
    expect(unknown.status).toBe(404);
    const id = sessionId();
    await (await launch(id, { value: 'true' })).done;
    await waitStatus(id);
    const input = attachInput(id);
    input.end();
    expect((await input.answer).status).toBe(400);
  });
});

describe('request rules of the streaming calls', () => {
  it('404 for an unknown parent, 400 naming the field for a missing parent or command, 409 for a reused id', async () => {
    const unknown = await launch({ value: 'x', parent: { value: 'nope' } }, { value: 'true' });
    expect(unknown.status).toBe(404);
    const orphan = await postStream({
      type: 'LAUNCH_NESTED_CONTAINER_SESSION',
      launch_nested_container_session: { container_id: { value: 'y' }, command: { value: 'true' } },
    });
    expect(orphan.status).toBe(400);
    expect(orphan.text()).toMatch(/launch_nested_container_session\.container_id\.parent/);
    const noCommand = await launch(sessionId(), {});
    expect(noCommand.status).toBe(400);
    expect(noCommand.text()).toMatch(/command\.value/);
    const id = sessionId();
    await (await launch(id, { value: 'true' })).done;
    expect((await launch(id, { value: 'true' })).status).toBe(409);
    const wait = await post({ type: 'WAIT_NESTED_CONTAINER', wait_nested_container: { container_id: { value: 'nope' } } });
    expect(wait.status).toBe(404);
  });

  it('406 when Accept or Message-Accept exclude what the stream is', async () => {
    const call = { type: 'LAUNCH_NESTED_CONTAINER_SESSION', launch_nested_container_session: { container_id: sessionId(), command: { value: 'true' } } };
    const json = await postStream(call, { Accept: 'application/json' });
    expect(json.status).toBe(406);
    expect(json.text()).toMatch(/application\/recordio/);
    const protobuf = await postStream(call, { Accept: 'application/recordio', 'Message-Accept': 'application/x-protobuf' });
    expect(protobuf.status).toBe(406);
    expect(protobuf.text()).toMatch(/Message-Accept/);
    // Non-streaming calls still need JSON.
    expect((await request(url, JSON.stringify({ type: 'GET_HEALTH' }), { headers: { Accept: 'application/recordio' } })).status).toBe(406);
  });

  it('415 for ATTACH_CONTAINER_INPUT as JSON and for other calls as RecordIO; 400 without Message-Content-Type', async () => {
    const json = await post({ type: 'ATTACH_CONTAINER_INPUT', attach_container_input: { type: 'CONTAINER_ID', container_id: PARENT } });
    expect(json.status).toBe(415);
    expect(json.text).toMatch(/application\/recordio/);
    const other = attachInput(PARENT);
    other.end();
    expect((await other.answer).status).toBe(400); // a task container: no switchboard
    const notInput = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/recordio', 'Message-Content-Type': 'application/json' } });
    const answer = new Promise<number>((resolve) => notInput.on('response', (res) => resolve(res.statusCode ?? 0)));
    notInput.end(encodeRecord(JSON.stringify({ type: 'GET_HEALTH' })));
    expect(await answer).toBe(415);
    const noMessageType = await request(url, encodeRecord('{}').toString(), { headers: { 'Content-Type': 'application/recordio' } });
    expect(noMessageType.status).toBe(400);
    expect(noMessageType.text).toMatch(/Message-Content-Type/);
  });

  it('400 naming the record when the input stream is not ProcessIO', async () => {
    const id = sessionId();
    const stream = await launch(id, { value: 'sleep 5' });
    const input = attachInput(id);
    input.raw({ type: 'ATTACH_CONTAINER_INPUT', attach_container_input: { type: 'PROCESS_IO', process_io: { type: 'DATA', data: { type: 'STDOUT', data: '' } } } });
    const answer = await input.answer;
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/record 2.*data\.type: must be STDIN/);
    stream.destroy();
  });
});

describe('the parent container', () => {
  it('takes its sessions with it when it ends', async () => {
    const id = sessionId();
    const stream = await launch(id, { value: 'echo started; exec sleep 300' });
    await stream.until(() => stream.text().includes('started'));
    task.kill('SIGKILL');
    await stream.done;
    expect(await waitStatus(id)).toBe(9);
  });
});
