/**
 * Debug containers (facts 3.3, 8.5): LAUNCH_NESTED_CONTAINER_SESSION starts a process inside a
 * running container (containerizer/exec.ts) and streams its output as the response; the session
 * dies with that connection. More clients may watch (ATTACH_CONTAINER_OUTPUT) and one may type
 * (ATTACH_CONTAINER_INPUT); WAIT/KILL_(NESTED_)CONTAINER give its exit status and end it.
 *
 * agora's choices: the output stream ends once the process has exited and its output is drained;
 * the exit status is not in the stream (ProcessIO has no record for it) but answered by
 * WAIT_NESTED_CONTAINER / WAIT_CONTAINER, as in Mesos, for the last MAX_FINISHED sessions.
 */
import { constants } from 'node:os';
import { type ContainerID, type AgentOperatorCall, type LaunchNestedContainerSession } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import {
  agentIsRoot,
  type DebugProcess,
  type DebugTarget,
  type ExitStatus,
  LaunchError,
  lookupUser,
  startDebugProcess,
  type TerminalSize,
} from '../../containerizer/index.js';
import { attachInput, attachOutput } from './attach.js';
import { type OperatorAnswer, type OperatorHandlers, REPLIED } from './operator-handlers.js';
import { ProcessIoStream } from './session-stream.js';

/** A running container a session can enter; `wait` resolves when it ends (its sessions end too). */
export interface EnterableContainer extends DebugTarget {
  wait(): Promise<unknown>;
}

/** Finds a running container by id (top-level, or nested where the agent has such). */
export type ContainerLookup = (id: ContainerID) => EnterableContainer | undefined;

/** Exit statuses kept for WAIT after a session ended. */
const MAX_FINISHED = 256;
/** Mesos's default terminal when `tty_info` has no window size. */
const DEFAULT_TERMINAL: TerminalSize = { rows: 24, columns: 80 };

export class DebugSession {
  private readonly outputs = new Set<ProcessIoStream>();
  /** The stream of the LAUNCH call: when it closes before the process ends, the session is killed. */
  private primary: ProcessIoStream | undefined;
  private inputAttached = false;
  private status: ExitStatus | undefined;
  readonly ended: Promise<ExitStatus>;

  constructor(
    readonly containerId: ContainerID,
    readonly tty: boolean,
    private readonly child: DebugProcess,
  ) {
    const forward = (type: 'STDOUT' | 'STDERR') => (chunk: Buffer) => {
      let primarySlow = false;
      for (const output of this.outputs) if (!output.data(type, chunk) && output === this.primary) primarySlow = true;
      // The launching client's backpressure pauses the process's output until it catches up;
      // other watchers are cut off if they fall too far behind (ProcessIoStream).
      if (primarySlow) {
        child.stdout.pause();
        child.stderr?.pause();
        this.primary!.onDrain(() => {
          child.stdout.resume();
          child.stderr?.resume();
        });
      }
    };
    child.stdout.on('data', forward('STDOUT'));
    child.stderr?.on('data', forward('STDERR'));
    this.ended = child.exited.then((status) => {
      this.status = status;
      for (const output of this.outputs) output.close();
      this.outputs.clear();
      return status;
    });
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  /** Adds a stream that receives output from now on; `primary` ties the session's life to it. */
  addOutput(stream: ProcessIoStream, primary: boolean): void {
    if (!this.running) return stream.close();
    this.outputs.add(stream);
    if (primary) this.primary = stream;
    stream.onClose(() => {
      this.outputs.delete(stream);
      if (primary && this.running) this.kill();
    });
  }

  /** Claims the input; false when another client holds it (one attacher at a time). */
  claimInput(): boolean {
    if (this.inputAttached) return false;
    this.inputAttached = true;
    return true;
  }

  releaseInput(): void {
    this.inputAttached = false;
  }

  /** Bytes for the process's stdin; empty means end of input (with a terminal, EOT is a byte). */
  input(bytes: Buffer): void {
    if (!this.running) return;
    if (bytes.length === 0) this.child.stdin.end();
    else if (this.child.stdin.writable) this.child.stdin.write(bytes);
  }

  resize(size: TerminalSize): Promise<void> {
    return this.child.resize(size);
  }

  kill(): void {
    this.child.kill();
  }
}

export interface DebugSessionsOptions {
  heartbeatIntervalMs: number;
}

/** The agent's debug sessions by container id, running and recently finished. */
export class DebugSessions {
  private readonly sessions = new Map<string, DebugSession>();

  constructor(
    readonly enterable: ContainerLookup,
    readonly options: DebugSessionsOptions,
  ) {}

  get(id: ContainerID): DebugSession | undefined {
    return this.sessions.get(id.value);
  }

  /** Starts a session; rejects with the AgoraError to answer (400, 404, 409, 500). */
  async launch(launch: LaunchNestedContainerSession): Promise<DebugSession> {
    const { container_id: id } = launch;
    const field = 'agent.Call.launch_nested_container_session';
    if (id.parent === undefined) {
      throw validation(`${field}.container_id.parent: required: a debug session runs inside a running container, its parent`);
    }
    if (this.sessions.has(id.value)) throw new AgoraError('AGORA_ERR_CONFLICT', `Container ${id.value} already exists; pick a new id (a UUID)`);
    const parent = this.enterable(id.parent);
    if (parent === undefined) {
      throw new AgoraError('AGORA_ERR_NOT_FOUND', `Container ${describeId(id.parent)} is not running on this agent (the parent of ${id.value})`);
    }
    const command = launch.command;
    if (command?.value === undefined || command.value === '') {
      throw validation(`${field}.command.value: required: the command to run, e.g. {"shell": true, "value": "ps -ef"}`);
    }
    const env: Record<string, string> = {};
    for (const variable of command.environment?.variables ?? []) {
      if (variable.type === 'SECRET') throw validation(`${field}.command.environment: secret variables are not supported by agora yet`);
      env[variable.name] = variable.value ?? '';
    }
    const user = command.user === undefined || command.user === '' || !agentIsRoot() ? undefined : await lookupUser(command.user);
    if (command.user !== undefined && command.user !== '' && agentIsRoot() && user === undefined) {
      throw validation(`${field}.command.user: no user '${command.user}' on this agent`);
    }
    const ttyInfo = launch.container?.tty_info;
    const tty = ttyInfo === undefined ? undefined : (ttyInfo.window_size ?? DEFAULT_TERMINAL);
    let child: DebugProcess;
    try {
      child = await startDebugProcess(parent, {
        command: command.shell === false ? { shell: false, value: command.value, argv: command.arguments ?? [command.value] } : { shell: true, value: command.value },
        env,
        ...(user === undefined ? {} : { user: { uid: user.uid, gid: user.gid } }),
        ...(tty === undefined ? {} : { tty }),
      });
    } catch (err) {
      if (err instanceof LaunchError) throw new AgoraError('AGORA_ERR_INTERNAL', err.message);
      throw err;
    }
    if (this.sessions.has(id.value)) {
      child.kill();
      throw new AgoraError('AGORA_ERR_CONFLICT', `Container ${id.value} already exists; pick a new id (a UUID)`);
    }
    const session = new DebugSession(id, tty !== undefined, child);
    this.sessions.set(id.value, session);
    void parent.wait().then(() => session.kill());
    void session.ended.then(() => this.forgetOldest());
    return session;
  }

  /** Kills every running session and waits for them to end (the agent is stopping). */
  async closeAll(): Promise<void> {
    const running = [...this.sessions.values()].filter((s) => s.running);
    for (const session of running) session.kill();
    await Promise.all(running.map((s) => s.ended));
  }

  private forgetOldest(): void {
    const finished = [...this.sessions.entries()].filter(([, s]) => !s.running);
    for (const [key] of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED))) this.sessions.delete(key);
  }
}

/** The operator calls of debug sessions. WAIT and KILL pass containers that are not sessions on. */
export function sessionHandlers(sessions: DebugSessions): OperatorHandlers {
  const wait =
    (type: 'WAIT_NESTED_CONTAINER' | 'WAIT_CONTAINER') =>
    async (call: AgentOperatorCall, _context: unknown, next: () => Promise<OperatorAnswer>): Promise<OperatorAnswer> => {
      const id = type === 'WAIT_NESTED_CONTAINER' ? call.wait_nested_container?.container_id : call.wait_container?.container_id;
      const session = id === undefined ? undefined : sessions.get(id);
      if (session === undefined) return orNotFound(next, id, type);
      const status = await session.ended;
      const key = type === 'WAIT_NESTED_CONTAINER' ? 'wait_nested_container' : 'wait_container';
      return { status: 200, body: { type, [key]: { exit_status: waitStatus(status) } } };
    };
  const kill =
    (type: 'KILL_NESTED_CONTAINER' | 'KILL_CONTAINER') =>
    async (call: AgentOperatorCall, _context: unknown, next: () => Promise<OperatorAnswer>): Promise<OperatorAnswer> => {
      const id = type === 'KILL_NESTED_CONTAINER' ? call.kill_nested_container?.container_id : call.kill_container?.container_id;
      const session = id === undefined ? undefined : sessions.get(id);
      if (session === undefined) return orNotFound(next, id, type);
      session.kill();
      return { status: 200 };
    };
  return {
    LAUNCH_NESTED_CONTAINER_SESSION: async (call, { reply }): Promise<OperatorAnswer> => {
      const launch = call.launch_nested_container_session;
      if (launch === undefined) throw validation('agent.Call.launch_nested_container_session: required for LAUNCH_NESTED_CONTAINER_SESSION');
      const session = await sessions.launch(launch);
      session.addOutput(new ProcessIoStream(reply, sessions.options.heartbeatIntervalMs), true);
      return REPLIED;
    },
    ATTACH_CONTAINER_OUTPUT: (call, { reply }): OperatorAnswer => {
      const id = call.attach_container_output?.container_id;
      if (id === undefined) throw validation('agent.Call.attach_container_output.container_id: required for ATTACH_CONTAINER_OUTPUT');
      attachOutput(attachable(sessions, id), reply, sessions.options.heartbeatIntervalMs);
      return REPLIED;
    },
    ATTACH_CONTAINER_INPUT: async (call, { records }): Promise<OperatorAnswer> => {
      const first = call.attach_container_input;
      if (first?.type !== 'CONTAINER_ID' || first.container_id === undefined) {
        throw validation('agent.Call.attach_container_input: the first record must be {"type": "CONTAINER_ID", "container_id": {...}}');
      }
      const session = attachable(sessions, first.container_id);
      await attachInput(session, records ?? emptyRecords());
      return { status: 200 };
    },
    WAIT_NESTED_CONTAINER: wait('WAIT_NESTED_CONTAINER'),
    WAIT_CONTAINER: wait('WAIT_CONTAINER'),
    KILL_NESTED_CONTAINER: kill('KILL_NESTED_CONTAINER'),
    KILL_CONTAINER: kill('KILL_CONTAINER'),
  };
}

/** The running session `id`, or the error to answer: unknown (404), a task (400), ended (400). */
function attachable(sessions: DebugSessions, id: ContainerID): DebugSession {
  const session = sessions.get(id);
  if (session === undefined) {
    if (sessions.enterable(id) !== undefined) {
      throw validation(
        `Container ${describeId(id)} was not launched with an I/O switchboard (only debug sessions are): read its output with READ_FILE or 'agora task log -f'`,
      );
    }
    throw new AgoraError('AGORA_ERR_NOT_FOUND', `Container ${describeId(id)} is not known to this agent`);
  }
  if (!session.running) {
    throw validation(`Container ${id.value} has already exited; ask WAIT_NESTED_CONTAINER for its exit status`);
  }
  return session;
}

/** Another table's answer for a container that is not a session, or 404 when nobody knows it. */
async function orNotFound(next: () => Promise<OperatorAnswer>, id: ContainerID | undefined, type: string): Promise<OperatorAnswer> {
  try {
    return await next();
  } catch (err) {
    if (!(err instanceof AgoraError) || err.code !== 'AGORA_ERR_NOT_IMPLEMENTED') throw err;
    if (id === undefined) throw validation(`agent.Call.${type.toLowerCase()}.container_id: required for ${type}`);
    throw new AgoraError('AGORA_ERR_NOT_FOUND', `Container ${describeId(id)} is not known to this agent`);
  }
}

/** The `wait(2)` status Mesos reports: the exit code in the second byte, or the signal number. */
export function waitStatus(status: ExitStatus): number {
  if (status.signal === undefined) return (status.code & 0xff) << 8;
  return constants.signals[status.signal as NodeJS.Signals] ?? constants.signals.SIGKILL;
}

/** "child" or "child (in parent)" for messages. */
function describeId(id: ContainerID): string {
  return id.parent === undefined ? id.value : `${id.value} (in ${describeId(id.parent)})`;
}

function validation(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}

async function* emptyRecords(): AsyncGenerator<string> {}
