/**
 * `agora task exec [-i] [-t] TASK -- CMD ARGS...`: runs a command inside a running task's
 * container as a debug session on its agent (LAUNCH_NESTED_CONTAINER_SESSION), prints its output,
 * feeds it stdin (-i, ATTACH_CONTAINER_INPUT), gives it a terminal (-t: raw mode, window size,
 * resize on SIGWINCH), and exits with the command's exit status (WAIT_NESTED_CONTAINER).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { constants } from 'node:os';
import { encodeRecord } from '../api/index.js';
import { openEventStream } from '../http/index.js';
import { type AgentView, agentCall, agentName, ClusterClient, type ContainerIdJson, isTerminal, userError } from './task-client.js';

export interface TaskExecOptions {
  master: string;
  task: string;
  command: string[];
  interactive: boolean;
  tty: boolean;
  /** The client's heartbeat on the input stream. */
  heartbeatIntervalMs?: number;
}

/** The terminal and streams of this process, replaceable in tests. */
export interface ExecTerminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const RUNNING = new Set(['TASK_RUNNING', 'TASK_STARTING', 'TASK_KILLING']);

export async function runTaskExec(options: TaskExecOptions, io: ExecTerminal = process): Promise<number> {
  if (options.command.length === 0) throw userError('give the command to run after the task, e.g. agora task exec TASK -- ps -ef');
  const client = new ClusterClient(options.master);
  const { task, agent } = await client.findTask(options.task);
  if (!RUNNING.has(task.state)) {
    const hint = isTerminal(task.state) ? 'it has ended; see its output with agora task log' : 'wait until it is TASK_RUNNING';
    throw userError(`task '${task.id}' is ${task.state}, not running: ${hint}`);
  }
  if (task.containerId === undefined) throw userError(`task '${task.id}' has no container yet; wait until it is TASK_RUNNING`);

  const containerId = { value: randomUUID(), parent: task.containerId };
  const localTerminal = options.tty && io.stdin.isTTY === true;
  const size = io.stdout.isTTY === true ? { rows: io.stdout.rows, columns: io.stdout.columns } : { rows: 24, columns: 80 };
  const [file, ...args] = options.command;
  const term = process.env['TERM'];
  const launch = {
    type: 'LAUNCH_NESTED_CONTAINER_SESSION',
    launch_nested_container_session: {
      container_id: containerId,
      command: {
        shell: false,
        value: file,
        arguments: [file, ...args],
        ...(options.tty && term !== undefined ? { environment: { variables: [{ name: 'TERM', type: 'VALUE', value: term }] } } : {}),
      },
      ...(options.tty ? { container: { type: 'MESOS', tty_info: { window_size: size } } } : {}),
    },
  };

  let output;
  try {
    output = await openEventStream(`${agent.url}/api/v1`, launch, { Accept: 'application/recordio', 'Message-Accept': 'application/json' });
  } catch (err) {
    throw userError(`cannot reach ${agentName(agent)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; is it reachable from here?`);
  }
  if (output.status !== 200) {
    throw userError(`${agentName(agent)} refused the session (${output.status}): ${(output.errorText ?? '').trim()}`);
  }

  const restore = localTerminal ? rawMode(io.stdin) : () => undefined;
  const input = options.interactive || options.tty ? new InputStream(agent, containerId, options.heartbeatIntervalMs ?? 30_000, io) : undefined;
  // Ctrl-C outside raw mode ends the session (the agent kills it when the connection closes).
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    output.close();
    input?.close();
    process.exit(128 + (constants.signals[signal] ?? 2));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (input !== undefined) {
      if (options.tty) {
        input.windowSize(size);
        if (io.stdout.isTTY === true) io.stdout.on('resize', () => input.windowSize({ rows: io.stdout.rows, columns: io.stdout.columns }));
      }
      if (options.interactive) input.pipeStdin(localTerminal);
    }
    for await (const record of output.events) {
      const data = (record as { type?: string; data?: { type?: string; data?: string } }).data;
      if ((record as { type?: string }).type !== 'DATA' || data?.data === undefined) continue;
      const bytes = Buffer.from(data.data, 'base64');
      if (data.type === 'STDERR') io.stderr.write(bytes);
      else io.stdout.write(bytes);
    }
  } finally {
    restore();
    input?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const waited = (await agentCall(agent, { type: 'WAIT_NESTED_CONTAINER', wait_nested_container: { container_id: containerId } }).catch(() => {
    throw userError(`${agentName(agent)} ended the session without its exit status (did the agent stop?)`);
  })) as { wait_nested_container?: { exit_status?: number } };
  return exitCodeOf(waited.wait_nested_container?.exit_status);
}

/** A wait(2) status to a shell's exit code: the code, or 128 + the signal. */
export function exitCodeOf(status: number | undefined): number {
  if (status === undefined) return 1;
  const signal = status & 0x7f;
  return signal === 0 ? (status >> 8) & 0xff : 128 + signal;
}

/** Raw mode on the local terminal: keys (Ctrl-C included) go to the remote terminal as bytes. */
function rawMode(stdin: NodeJS.ReadStream): () => void {
  stdin.setRawMode(true);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    stdin.setRawMode(false);
  };
}

/**
 * ATTACH_CONTAINER_INPUT: one streaming POST (`Content-Type: application/recordio`) whose first
 * record names the container, then ProcessIO records (stdin bytes, window sizes, heartbeats).
 */
class InputStream {
  private readonly request: http.ClientRequest;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    agent: AgentView,
    containerId: ContainerIdJson,
    heartbeatIntervalMs: number,
    private readonly io: ExecTerminal,
  ) {
    this.request = http.request(`${agent.url}/api/v1`, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/recordio', 'Message-Content-Type': 'application/json', Accept: 'application/json' },
    });
    this.request.on('error', () => undefined); // The output stream reports a dead agent.
    this.request.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200 && !this.closed) io.stderr.write(`agora task exec: input refused (${res.statusCode}): ${text.trim()}\n`);
      });
    });
    this.request.flushHeaders();
    this.write({ type: 'ATTACH_CONTAINER_INPUT', attach_container_input: { type: 'CONTAINER_ID', container_id: containerId } });
    const nanoseconds = heartbeatIntervalMs * 1e6;
    this.heartbeat = setInterval(() => this.processIo({ type: 'CONTROL', control: { type: 'HEARTBEAT', heartbeat: { interval: { nanoseconds } } } }), heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  windowSize(size: { rows: number; columns: number }): void {
    this.processIo({ type: 'CONTROL', control: { type: 'TTY_INFO', tty_info: { window_size: size } } });
  }

  /** Sends stdin as it comes; its end is an empty DATA record (with a terminal, the user types ^D). */
  pipeStdin(terminal: boolean): void {
    const { stdin } = this.io;
    stdin.on('data', (chunk: Buffer) => this.processIo({ type: 'DATA', data: { type: 'STDIN', data: chunk.toString('base64') } }));
    if (!terminal) {
      stdin.on('end', () => {
        this.processIo({ type: 'DATA', data: { type: 'STDIN', data: '' } });
        this.end();
      });
    }
    stdin.resume();
  }

  close(): void {
    this.end();
    this.io.stdin.pause();
    // A listener on stdin keeps the process alive; the session is over.
    this.io.stdin.removeAllListeners('data');
    this.io.stdin.destroy();
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.request.end();
  }

  private processIo(processIo: unknown): void {
    this.write({ type: 'ATTACH_CONTAINER_INPUT', attach_container_input: { type: 'PROCESS_IO', process_io: processIo } });
  }

  private write(call: unknown): void {
    if (!this.closed) this.request.write(encodeRecord(JSON.stringify(call)));
  }
}
