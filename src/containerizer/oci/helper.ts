/**
 * The process helper: one long-lived /bin/sh that starts the agent's short-lived processes
 * (conmon, `crun start`, `crun delete`). A fork of this small shell costs a fraction of a
 * millisecond; a fork of the agent's large heap from child_process.spawn costs 5-10 ms of
 * blocked event loop, per process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from 'pino';

export interface JobResult {
  /** The job's exit status (255: it could not report one). */
  code: number;
  /** What it printed, stdout and stderr together (for conmon launches: the sync message). */
  output: string;
}

// Every job answers with one record "<id> <status> <text>\0"; a record below PIPE_BUF is one
// write, so concurrent jobs never interleave. Jobs run double-forked so the helper reaps nothing.
const PRELUDE = String.raw`
agora_reply() { printf '%s %s %s\000' "$1" "$2" "$3"; }
agora_job() {
  _id=$1; shift
  _out=$("$@" 2>&1 </dev/null); _rc=$?
  agora_reply "$_id" "$_rc" "$_out"
}
# agora_conmon ID DIR STDOUT STDERR RUNTIME RUNTIME_ROOT CONTAINER_ID CONMON_ARGV...
# Runs conmon in DIR (it drops files in its working directory), which creates the container and
# stays as its monitor; waits for its message on the sync pipe that the container exists, then
# starts it.
agora_conmon() {
  _id=$1 _o=$3 _e=$4 _rt=$5 _root=$6 _cid=$7
  cd "$2" || { agora_reply "$_id" 255 "cannot enter $2"; return; }
  shift 7
  { _OCI_SYNCPIPE=3 "$@" 3>&1 >>"$_o" 2>>"$_e" </dev/null; } | {
    IFS= read -r _created || _created=
    case $_created in
      *'"data": '[0-9]*)
        _msg=$("$_rt" --root "$_root" start "$_cid" 2>&1 </dev/null); _rc=$?
        agora_reply "$_id" "$_rc" "$_created $_msg" ;;
      *) agora_reply "$_id" 255 "$_created" ;;
    esac
  }
}
while IFS= read -r _line; do eval "$_line"; done
`;

const HELPER_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

interface Pending {
  resolve(result: JobResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class ProcessHelper {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffer = '';
  private closed = false;

  constructor(private readonly logger?: Logger) {}

  /** Runs `argv` (no shell), resolving with its status and output. */
  run(argv: string[], timeoutMs = 60_000): Promise<JobResult> {
    return this.submit((id) => `(agora_job ${id} ${argv.map(shellQuote).join(' ')} &)`, timeoutMs);
  }

  /**
   * Starts a container under conmon and then starts it; resolves with the status of `start`
   * (255 when the container could not be created) and the sync message.
   */
  runConmon(
    files: { cwd: string; stdout: string; stderr: string },
    runtime: { path: string; root: string },
    containerId: string,
    conmonArgv: string[],
    timeoutMs = 60_000,
  ): Promise<JobResult> {
    const args = [files.cwd, files.stdout, files.stderr, runtime.path, runtime.root, containerId, ...conmonArgv].map(shellQuote).join(' ');
    return this.submit((id) => `(agora_conmon ${id} ${args} &)`, timeoutMs);
  }

  /** Stops the helper; jobs it started keep running. */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('the process helper was closed'));
      this.pending.delete(id);
    }
  }

  private submit(line: (id: number) => string, timeoutMs: number): Promise<JobResult> {
    if (this.closed) return Promise.reject(new Error('the process helper was closed'));
    const child = this.ensureStarted();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer from the process helper in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      child.stdin!.write(`${line(id)}\n`);
    });
  }

  private ensureStarted(): ChildProcess {
    if (this.child !== undefined) return this.child;
    // Its own process group: a Ctrl-C meant for the agent must not kill a launch half-way.
    const child = spawn('/bin/sh', ['-c', PRELUDE], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: HELPER_ENV });
    child.unref();
    for (const stream of [child.stdin!, child.stdout!, child.stderr!]) (stream as unknown as { unref?: () => void }).unref?.();
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.logger?.warn({ output: chunk.trim() }, 'process helper wrote to stderr'));
    child.stdin!.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.closed) this.logger?.warn({ code, signal }, 'the process helper exited; a new one starts with the next job');
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error('the process helper exited before the job answered'));
        this.pending.delete(id);
      }
    });
    this.child = child;
    return child;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const record = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      const match = /^(\d+) (\d+) ?([\s\S]*)$/.exec(record);
      if (match === null) {
        this.logger?.warn({ record }, 'unreadable answer from the process helper');
        continue;
      }
      const id = Number(match[1]);
      const p = this.pending.get(id);
      if (p === undefined) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve({ code: Number(match[2]), output: match[3]!.trim() });
    }
  }
}

/** `text` as one single-quoted shell word. Newlines cannot be passed: one line is one job. */
export function shellQuote(text: string): string {
  if (text.includes('\n') || text.includes('\0')) throw new Error(`cannot pass ${JSON.stringify(text)} to the process helper`);
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
