/**
 * The task status update manager (facts 2.2): per task, a strictly ordered stream of updates,
 * forwarded to the master one at a time and retried with backoff until acknowledged. Pure.
 *
 *   update() --> [u1 u2 u3]   head u1 is in flight: forward, arm retry timer
 *                 |   ^
 *   timer fires --+   | resend u1; interval 10s, 20s, 40s ... capped at 10 min
 *   ACK(u1.uuid) --> [u2 u3]  forward u2 at once, interval back to 10s
 *   ACK of a terminal update with nothing behind it --> the stream is closed
 *
 * While the master link is down the manager is paused: nothing is forwarded and no timers run;
 * resume() resends every stream's head.
 */
import type { TaskStatus } from '../../api/index.js';
import { isTerminalState } from '../../api/index.js';
import { assert, type Clock } from '../../base/index.js';

export const STATUS_UPDATE_RETRY_INTERVAL_MIN_MS = 10_000;
export const STATUS_UPDATE_RETRY_INTERVAL_MAX_MS = 600_000;

export interface StatusRetryTimer {
  kind: 'statusUpdateRetry';
  frameworkId: string;
  taskId: string;
}

export type StatusUpdateEffect =
  | { kind: 'forward'; frameworkId: string; status: TaskStatus }
  | { kind: 'startTimer'; timer: StatusRetryTimer; atMs: number }
  | { kind: 'cancelTimer'; timer: StatusRetryTimer };

export type AckOutcome =
  | { kind: 'acknowledged'; status: TaskStatus; streamClosed: boolean; effects: StatusUpdateEffect[] }
  | { kind: 'ignored'; reason: string };

interface Stream {
  readonly timer: StatusRetryTimer;
  /** Unacknowledged updates, oldest first; the head is the one forwarded. */
  readonly pending: TaskStatus[];
  /** Delay before the head is sent again. */
  retryMs: number;
  timerArmed: boolean;
}

/** Sees every update accepted and every acknowledgement applied, in order (the checkpoint, facts 2.2). */
export type StreamRecorder = (frameworkId: string, taskId: string, record: { type: 'UPDATE'; status: TaskStatus } | { type: 'ACK'; uuid: string }) => void;

export class StatusUpdateManager {
  private readonly streams = new Map<string, Stream>();
  private paused = true;

  constructor(
    private readonly clock: Clock,
    private readonly recorder?: StreamRecorder,
  ) {}

  /** Queues `status` (which must carry a uuid) behind the task's earlier updates. */
  update(frameworkId: string, status: TaskStatus): StatusUpdateEffect[] {
    assert(status.uuid !== undefined, `status update for task ${status.task_id.value} has no uuid`);
    const stream = this.streamFor(frameworkId, status.task_id.value);
    const last = stream.pending[stream.pending.length - 1];
    assert(
      last === undefined || !isTerminalState(last.state),
      `task ${status.task_id.value}: ${status.state} queued after terminal ${last?.state}`,
    );
    stream.pending.push(status);
    this.recorder?.(frameworkId, status.task_id.value, { type: 'UPDATE', status });
    return stream.pending.length === 1 && !this.paused ? this.forwardHead(stream) : [];
  }

  /**
   * Applies the master's acknowledgement. Only the head's uuid is accepted: anything else is a
   * duplicate or stale acknowledgement and is ignored, as Mesos does.
   */
  acknowledge(frameworkId: string, taskId: string, uuid: string): AckOutcome {
    const key = streamKey(frameworkId, taskId);
    const stream = this.streams.get(key);
    const head = stream?.pending[0];
    if (stream === undefined || head === undefined) return { kind: 'ignored', reason: 'no pending status update for the task' };
    if (head.uuid !== uuid) return { kind: 'ignored', reason: `expecting acknowledgement of ${head.uuid}` };
    this.recorder?.(frameworkId, taskId, { type: 'ACK', uuid });
    stream.pending.shift();
    const effects = this.disarm(stream);
    stream.retryMs = STATUS_UPDATE_RETRY_INTERVAL_MIN_MS;
    if (stream.pending.length === 0) {
      this.streams.delete(key);
      return { kind: 'acknowledged', status: head, streamClosed: true, effects };
    }
    if (!this.paused) effects.push(...this.forwardHead(stream));
    return { kind: 'acknowledged', status: head, streamClosed: false, effects };
  }

  /**
   * Agent recovery: the unacknowledged updates of a checkpointed stream, oldest first, queued
   * as they were (already recorded, so not recorded again). Sent once the manager resumes.
   */
  restore(frameworkId: string, pending: readonly TaskStatus[]): void {
    if (pending.length === 0) return;
    const stream = this.streamFor(frameworkId, pending[0]!.task_id.value);
    assert(stream.pending.length === 0, `task ${pending[0]!.task_id.value}: restoring a stream that has updates`);
    stream.pending.push(...pending);
  }

  /** A retry timer fired: resend the head and double the interval. Stale timers do nothing. */
  retry(timer: StatusRetryTimer): StatusUpdateEffect[] {
    const stream = this.streams.get(streamKey(timer.frameworkId, timer.taskId));
    if (stream === undefined || !stream.timerArmed || this.paused) return [];
    stream.timerArmed = false;
    stream.retryMs = Math.min(stream.retryMs * 2, STATUS_UPDATE_RETRY_INTERVAL_MAX_MS);
    return this.forwardHead(stream);
  }

  /** The master link is down: stop forwarding and retrying until resume(). */
  pause(): StatusUpdateEffect[] {
    this.paused = true;
    return [...this.streams.values()].flatMap((s) => this.disarm(s));
  }

  /** The master link is up: resend every head now, with the interval back at its minimum. */
  resume(): StatusUpdateEffect[] {
    this.paused = false;
    return [...this.streams.values()].flatMap((s) => {
      s.retryMs = STATUS_UPDATE_RETRY_INTERVAL_MIN_MS;
      return [...this.disarm(s), ...this.forwardHead(s)];
    });
  }

  /** Drops every stream of a framework that is shut down: its updates can never be acknowledged. */
  cleanup(frameworkId: string): StatusUpdateEffect[] {
    const effects: StatusUpdateEffect[] = [];
    for (const [key, stream] of this.streams) {
      if (stream.timer.frameworkId !== frameworkId) continue;
      effects.push(...this.disarm(stream));
      this.streams.delete(key);
    }
    return effects;
  }

  /** The update in flight for a task (the oldest unacknowledged), if any. */
  head(frameworkId: string, taskId: string): TaskStatus | undefined {
    return this.streams.get(streamKey(frameworkId, taskId))?.pending[0];
  }

  pendingCount(frameworkId: string, taskId: string): number {
    return this.streams.get(streamKey(frameworkId, taskId))?.pending.length ?? 0;
  }

  /** Every stream's in-flight update, for reports and tests. */
  heads(): Array<{ frameworkId: string; status: TaskStatus }> {
    return [...this.streams.values()].map((s) => ({ frameworkId: s.timer.frameworkId, status: s.pending[0]! }));
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private streamFor(frameworkId: string, taskId: string): Stream {
    const key = streamKey(frameworkId, taskId);
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = { timer: { kind: 'statusUpdateRetry', frameworkId, taskId }, pending: [], retryMs: STATUS_UPDATE_RETRY_INTERVAL_MIN_MS, timerArmed: false };
      this.streams.set(key, stream);
    }
    return stream;
  }

  private forwardHead(stream: Stream): StatusUpdateEffect[] {
    const head = stream.pending[0];
    assert(head !== undefined, 'forwarding from an empty status update stream');
    stream.timerArmed = true;
    return [
      { kind: 'forward', frameworkId: stream.timer.frameworkId, status: head },
      { kind: 'startTimer', timer: stream.timer, atMs: this.clock.monotonicMs() + stream.retryMs },
    ];
  }

  private disarm(stream: Stream): StatusUpdateEffect[] {
    if (!stream.timerArmed) return [];
    stream.timerArmed = false;
    return [{ kind: 'cancelTimer', timer: stream.timer }];
  }
}

// NUL cannot appear in ids that reach the agent (facts section 0), so keys never collide.
function streamKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}
