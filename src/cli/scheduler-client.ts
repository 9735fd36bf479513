/**
 * A v1 Scheduler API client (facts section 1) for `agora execute`, the end-to-end tests and the
 * benchmarks: SUBSCRIBE holds the event stream, every other call carries its Mesos-Stream-Id.
 * It speaks the wire as is; policy (what to launch, when to decline) belongs to the caller.
 */
import { randomUUID } from 'node:crypto';
import type { ExecutorInfo, FrameworkInfo, Offer, SchedulerEvent, TaskInfo, TaskStatus } from '../api/index.js';
import { AgoraError } from '../base/index.js';
import { createMasterDetector, isEtcdUrl } from '../etcd/index.js';
import { type HttpResponse, type EventStreamClient, openEventStream, request } from '../http/index.js';

export const SCHEDULER_PATH = '/api/v1/scheduler';

export type Subscribed = Extract<SchedulerEvent, { type: 'SUBSCRIBED' }>['subscribed'];
export type EventListener = (event: SchedulerEvent) => void;

export interface Disconnected {
  /** ended: the master closed the stream; heartbeat: too many heartbeats missed; closed: we closed it. */
  reason: 'ended' | 'heartbeat' | 'closed' | 'error';
  message: string;
}

export interface SubscribeOptions {
  /** Master as `host:port` or `http://host:port` (a standby's 307 is followed), or `etcd://...` (the leader is looked up). */
  master: string;
  frameworkInfo: FrameworkInfo;
  /** Extra `subscribe` fields (suppressed_roles, offer_constraints). */
  subscribe?: Record<string, unknown>;
  /** The stream is dead after this many heartbeat intervals without any event (facts 1.1: ~5). */
  missedHeartbeats?: number;
  /** Overrides missedHeartbeats * heartbeat_interval_seconds. */
  heartbeatTimeoutMs?: number;
  /** How long to wait for the SUBSCRIBED event. */
  subscribeTimeoutMs?: number;
  /** Called for every event, synchronously, in order (SUBSCRIBED included). */
  onEvent?: EventListener;
}

/** A call the master refused, with its status and the master's text. */
export class SchedulerCallError extends Error {
  override readonly name = 'SchedulerCallError';

  constructor(
    readonly callType: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${callType} answered ${status}${body === '' ? '' : `: ${body}`}`);
  }
}

export function masterBaseUrl(master: string): string {
  const trimmed = master.trim().replace(/\/+$/, '');
  return /^https?:\/\//.test(trimmed) ? trimmed : `http://${trimmed}`;
}

/** Redirects followed from standby to leader before giving up. */
const MAX_REDIRECTS = 3;

/**
 * The base URL to talk to for `master`: as given for `host:port`, or the leader named in etcd for
 * `etcd://...` (waiting up to `timeoutMs` for one). Rejects with AGORA_ERR_UNAVAILABLE.
 */
export async function leaderUrl(master: string, timeoutMs: number): Promise<string> {
  if (!isEtcdUrl(master)) return masterBaseUrl(master);
  const detector = createMasterDetector(master);
  try {
    return await detector.leader(timeoutMs);
  } catch (err) {
    throw new AgoraError('AGORA_ERR_UNAVAILABLE', (err as Error).message);
  } finally {
    await detector.close();
  }
}

/** `//host:port/path` or `http://host:port/path` (a 307's Location) -> `http://host:port`. */
function redirectBase(location: string): string | undefined {
  const match = /^(?:https?:)?\/\/([^/?#]+)/.exec(location);
  return match === null ? undefined : `http://${match[1]}`;
}

/**
 * POSTs any body to the scheduler endpoint, with exactly the headers given (plus JSON
 * Content-Type unless overridden). For tests that send malformed calls.
 */
export function postSchedulerRaw(
  master: string,
  body: string | undefined,
  options: { headers?: Record<string, string>; method?: string } = {},
): Promise<HttpResponse> {
  const headers = { 'Content-Type': 'application/json', ...options.headers };
  return request(masterBaseUrl(master) + SCHEDULER_PATH, body, {
    headers,
    ...(options.method === undefined ? {} : { method: options.method }),
  });
}

export class SchedulerClient implements AsyncIterable<SchedulerEvent> {
  readonly endpoint: string;
  private readonly listeners = new Set<EventListener>();
  /** Events that came before any listener (e.g. OFFERS in the same chunk as SUBSCRIBED). */
  private beforeFirstListener: SchedulerEvent[] | undefined = [];
  private readonly queue: SchedulerEvent[] = [];
  private waiting: ((r: IteratorResult<SchedulerEvent>) => void) | undefined;
  private iterated = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private disconnectedWith: Disconnected | undefined;
  private resolveDisconnected!: (d: Disconnected) => void;
  /** Resolves once, when the stream is gone for any reason. */
  readonly disconnected: Promise<Disconnected>;
  /** Number of events received, heartbeats included. */
  eventCount = 0;
  lastEventAtMs = Date.now();

  private constructor(
    master: string,
    private readonly stream: EventStreamClient,
    readonly streamId: string,
    readonly subscribed: Subscribed,
    private readonly heartbeatTimeoutMs: number,
  ) {
    this.endpoint = masterBaseUrl(master) + SCHEDULER_PATH;
    this.disconnected = new Promise((resolve) => (this.resolveDisconnected = resolve));
  }

  get frameworkId(): string {
    return this.subscribed.framework_id.value;
  }

  get isConnected(): boolean {
    return this.disconnectedWith === undefined;
  }

  /**
   * SUBSCRIBEs and resolves once SUBSCRIBED has arrived. Rejects with SchedulerCallError when
   * the master answers other than 200, and with AgoraError on an ERROR event or a timeout.
   */
  static async subscribe(options: SubscribeOptions): Promise<SchedulerClient> {
    const call: Record<string, unknown> = {
      type: 'SUBSCRIBE',
      subscribe: { framework_info: options.frameworkInfo, ...options.subscribe },
    };
    if (options.frameworkInfo.id !== undefined) call['framework_id'] = options.frameworkInfo.id;
    const timeoutMs = options.subscribeTimeoutMs ?? 30_000;
    let base = await leaderUrl(options.master, timeoutMs);
    let stream: EventStreamClient & { errorText?: string };
    for (let redirects = 0; ; redirects++) {
      try {
        stream = await openEventStream(base + SCHEDULER_PATH, call);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new AgoraError(
          'AGORA_ERR_UNAVAILABLE',
          `cannot reach the master at ${base.replace(/^http:\/\//, '')} (${code ?? (err as Error).message}); is it running?`,
        );
      }
      const next = stream.status === 307 ? redirectBase(String(stream.headers.location ?? '')) : undefined;
      if (next === undefined || redirects >= MAX_REDIRECTS) break;
      base = next; // A standby pointed to the leader.
    }
    if (stream.status === 503) {
      // No leader yet, or the leader is still recovering: worth another try.
      throw new AgoraError('AGORA_ERR_UNAVAILABLE', `the master at ${base.replace(/^http:\/\//, '')} cannot serve yet: ${stream.errorText?.trim() ?? ''}`);
    }
    if (stream.status !== 200) throw new SchedulerCallError('SUBSCRIBE', stream.status, stream.errorText ?? '');
    const streamId = headerValue(stream.headers['mesos-stream-id']);
    const iterator = stream.events[Symbol.asyncIterator]();
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (first === 'timeout' || first.done === true) {
      stream.close();
      throw new AgoraError(
        'AGORA_ERR_UNAVAILABLE',
        first === 'timeout'
          ? `the master sent no SUBSCRIBED event within ${timeoutMs} ms`
          : 'the master closed the subscription stream before SUBSCRIBED',
      );
    }
    const event = first.value as SchedulerEvent;
    if (event.type === 'ERROR') {
      stream.close();
      throw new AgoraError('AGORA_ERR_VALIDATION', `the master refused the subscription: ${event.error.message}`);
    }
    if (event.type !== 'SUBSCRIBED') {
      stream.close();
      throw new AgoraError('AGORA_ERR_INTERNAL', `expected SUBSCRIBED as the first event, got ${event.type}`);
    }
    if (streamId === undefined) {
      stream.close();
      throw new AgoraError('AGORA_ERR_INTERNAL', 'the SUBSCRIBE response has no Mesos-Stream-Id header');
    }
    const intervalS = event.subscribed.heartbeat_interval_seconds || 15;
    const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? (options.missedHeartbeats ?? 5) * intervalS * 1000;
    const client = new SchedulerClient(base, stream, streamId, event.subscribed, heartbeatTimeoutMs);
    client.deliver(event);
    if (options.onEvent !== undefined) client.on(options.onEvent);
    void client.pump(iterator);
    return client;
  }

  // ----- events ------------------------------------------------------------------------

  /**
   * Adds a listener for every later event; returns a function that removes it. The first
   * listener ever added (here or as `onEvent`) first gets, synchronously, every event that
   * arrived before it, SUBSCRIBED included: an offer sent together with SUBSCRIBED is not lost.
   */
  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    const early = this.beforeFirstListener;
    this.beforeFirstListener = undefined;
    for (const event of early ?? []) listener(event);
    return () => this.listeners.delete(listener);
  }

  /**
   * Events in order, from SUBSCRIBED on, buffered until read; ends when the stream does.
   * One reader at a time.
   */
  [Symbol.asyncIterator](): AsyncIterator<SchedulerEvent> {
    this.iterated = true;
    return {
      next: () => {
        const event = this.queue.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (!this.isConnected) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: () => {
        this.iterated = false;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /**
   * Resolves with the first later event for which `pick` returns a value. Rejects on timeout or
   * when the stream ends first.
   */
  waitFor<T>(pick: (event: SchedulerEvent) => T | undefined, timeoutMs: number, what = 'event'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      // The first listener gets the events that came before it synchronously, inside on():
      // `off` may not be assigned yet when the pick succeeds.
      let picked = false;
      const off = this.on((event) => {
        if (picked) return;
        const value = pick(event);
        if (value === undefined) return;
        picked = true;
        clearTimeout(timer);
        queueMicrotask(() => off());
        resolve(value);
      });
      void this.disconnected.then((d) => {
        clearTimeout(timer);
        off();
        reject(new Error(`stream ended (${d.reason}: ${d.message}) while waiting for ${what}`));
      });
    });
  }

  private async pump(iterator: AsyncIterator<unknown>): Promise<void> {
    this.armHeartbeat();
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        const event = next.value as SchedulerEvent;
        if (typeof event !== 'object' || event === null || typeof event.type !== 'string') continue;
        this.armHeartbeat();
        this.deliver(event);
      }
      this.markDisconnected({ reason: 'ended', message: 'the master closed the stream' });
    } catch (err) {
      this.markDisconnected({ reason: 'error', message: (err as Error).message });
    }
  }

  private deliver(event: SchedulerEvent): void {
    this.eventCount++;
    this.lastEventAtMs = Date.now();
    if (this.beforeFirstListener !== undefined) this.beforeFirstListener.push(event);
    for (const listener of [...this.listeners]) listener(event);
    if (this.waiting !== undefined) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
    } else {
      this.queue.push(event);
      // Nobody reads the iterator: keep a bounded tail so a callback-only user does not leak.
      if (!this.iterated && this.queue.length > 10_000) this.queue.shift();
    }
  }

  private armHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    if (!this.isConnected) return;
    this.heartbeatTimer = setTimeout(() => {
      this.markDisconnected({
        reason: 'heartbeat',
        message: `no event (not even a HEARTBEAT) for ${this.heartbeatTimeoutMs} ms`,
      });
    }, this.heartbeatTimeoutMs);
    this.heartbeatTimer.unref();
  }

  private markDisconnected(d: Disconnected): void {
    if (this.disconnectedWith !== undefined) return;
    this.disconnectedWith = d;
    clearTimeout(this.heartbeatTimer);
    this.stream.close();
    this.resolveDisconnected(d);
    if (this.waiting !== undefined) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  /** Drops the subscription connection without TEARDOWN (the master sees a disconnect). */
  close(): void {
    this.markDisconnected({ reason: 'closed', message: 'closed by the client' });
  }

  // ----- calls -------------------------------------------------------------------------

  /** Sends a call with framework_id and Mesos-Stream-Id filled in; returns the answer as is. */
  send(call: { type: string } & Record<string, unknown>): Promise<HttpResponse> {
    const body = { framework_id: { value: this.frameworkId }, ...call };
    return request(this.endpoint, JSON.stringify(body), { headers: { 'Mesos-Stream-Id': this.streamId } });
  }

  /** Sends a raw body with this stream's id (unless `streamId` says otherwise) and the given headers. */
  raw(
    body: string | undefined,
    options: { headers?: Record<string, string>; streamId?: string | null; method?: string } = {},
  ): Promise<HttpResponse> {
    const streamId = options.streamId === undefined ? this.streamId : options.streamId;
    return postSchedulerRaw(this.endpoint.slice(0, -SCHEDULER_PATH.length), body, {
      headers: { ...(streamId === null ? {} : { 'Mesos-Stream-Id': streamId }), ...options.headers },
      ...(options.method === undefined ? {} : { method: options.method }),
    });
  }

  /** Sends a call and throws SchedulerCallError unless it is answered 2xx. */
  async call(call: { type: string } & Record<string, unknown>): Promise<HttpResponse> {
    const response = await this.send(call);
    if (response.status < 200 || response.status > 299) {
      throw new SchedulerCallError(call.type, response.status, response.text);
    }
    return response;
  }

  accept(offerIds: string[], operations: unknown[], filters?: { refuse_seconds?: number }): Promise<HttpResponse> {
    return this.call({
      type: 'ACCEPT',
      accept: { offer_ids: offerIds.map((value) => ({ value })), operations, ...(filters && { filters }) },
    });
  }

  /** ACCEPT with one LAUNCH of `tasks` (their agent_id is set from the offer when empty). */
  launch(offer: Offer, tasks: TaskInfo[], filters?: { refuse_seconds?: number }): Promise<HttpResponse> {
    const taskInfos = tasks.map((t) => (t.agent_id?.value ? t : { ...t, agent_id: offer.agent_id }));
    return this.accept([offer.id.value], [{ type: 'LAUNCH', launch: { task_infos: taskInfos } }], filters);
  }

  /** ACCEPT with one LAUNCH_GROUP: `tasks` start together under `executor` (agent_id set from the offer when empty). */
  launchGroup(offer: Offer, executor: ExecutorInfo, tasks: TaskInfo[], filters?: { refuse_seconds?: number }): Promise<HttpResponse> {
    const taskInfos = tasks.map((t) => (t.agent_id?.value ? t : { ...t, agent_id: offer.agent_id }));
    return this.accept([offer.id.value], [{ type: 'LAUNCH_GROUP', launch_group: { executor, task_group: { tasks: taskInfos } } }], filters);
  }

  decline(offerIds: string[], filters?: { refuse_seconds?: number }): Promise<HttpResponse> {
    return this.call({
      type: 'DECLINE',
      decline: { offer_ids: offerIds.map((value) => ({ value })), ...(filters && { filters }) },
    });
  }

  kill(taskId: string, agentId?: string, gracePeriodMs?: number): Promise<HttpResponse> {
    return this.call({
      type: 'KILL',
      kill: {
        task_id: { value: taskId },
        ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
        ...(gracePeriodMs === undefined
          ? {}
          : { kill_policy: { grace_period: { nanoseconds: Math.round(gracePeriodMs * 1e6) } } }),
      },
    });
  }

  /**
   * Acknowledges an update if it carries a uuid (facts 1.2: never ack uuid-less updates).
   * Returns whether a call was sent.
   */
  async acknowledge(status: TaskStatus): Promise<boolean> {
    if (status.uuid === undefined || status.agent_id === undefined) return false;
    await this.call({
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
    });
    return true;
  }

  /** Explicit reconciliation for the given tasks, or implicit with none. */
  reconcile(tasks: Array<{ taskId: string; agentId?: string }> = []): Promise<HttpResponse> {
    return this.call({
      type: 'RECONCILE',
      reconcile: {
        tasks: tasks.map((t) => ({
          task_id: { value: t.taskId },
          ...(t.agentId === undefined ? {} : { agent_id: { value: t.agentId } }),
        })),
      },
    });
  }

  revive(roles: string[] = []): Promise<HttpResponse> {
    return this.call({ type: 'REVIVE', revive: { roles } });
  }

  suppress(roles: string[] = []): Promise<HttpResponse> {
    return this.call({ type: 'SUPPRESS', suppress: { roles } });
  }

  /** TEARDOWN (the master kills every task and removes the framework), then drop the stream. */
  async teardown(): Promise<HttpResponse> {
    try {
      return await this.call({ type: 'TEARDOWN' });
    } finally {
      this.close();
    }
  }
}

/** A fresh task id: `<prefix>-<8 hex>`, with characters Mesos forbids in ids replaced. */
export function freshTaskId(prefix: string): string {
  const safe = prefix.replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, 200) || 'task';
  return `${safe}-${randomUUID().slice(0, 8)}`;
}

/** `Command exited with status N` -> N; `... signal N/NAME` -> 128 + N; else undefined. */
export function exitCodeFromMessage(message: string | undefined): number | undefined {
  if (message === undefined) return undefined;
  const status = /exited with status (\d+)/i.exec(message);
  if (status !== null) return Number(status[1]);
  const signal = /signal\s+(?:(\d+)|(SIG[A-Z0-9]+)|([A-Z][a-z]+))/.exec(message);
  if (signal !== null) {
    if (signal[1] !== undefined) return 128 + Number(signal[1]);
    const byName = SIGNALS[(signal[2] ?? '').replace(/^SIG/, '')];
    if (byName !== undefined) return 128 + byName;
    const byDescription = SIGNAL_DESCRIPTIONS[signal[3] ?? ''];
    if (byDescription !== undefined) return 128 + byDescription;
  }
  return undefined;
}

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ABRT: 6, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15 };
// strsignal() texts, which Mesos prints ("Command terminated with signal Killed").
const SIGNAL_DESCRIPTIONS: Record<string, number> = {
  Hangup: 1,
  Interrupt: 2,
  Quit: 3,
  Aborted: 6,
  Killed: 9,
  Segmentation: 11,
  Broken: 13,
  Alarm: 14,
  Terminated: 15,
};

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
