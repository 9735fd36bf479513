/**
 * The agent's end of the internal agent link (src/api/agent-link.ts): subscribe and hold the
 * master's event stream, post calls with its Mesos-Stream-Id, reconnect with backoff when it breaks.
 * The master is found by a detector: a fixed `host:port` (a standby there answers 307 to the
 * leader), or the leader key in etcd, followed as the leader changes.
 */
import type { Logger } from 'pino';
import { AGENT_LINK_PATH, AgentEvent, type AgentCall, type AgentSubscribe, type TaskState, type TaskStatus } from '../api/index.js';
import { type MasterDetector, createMasterDetector } from '../etcd/index.js';
import { type EventStreamClient, openEventStream, request } from '../http/index.js';
import type { StatusForwarder } from './runtime.js';

/** Mesos's registration backoff: the n-th retry waits a random time in [0, min(1s * 2^(n-1), 1 min)]. */
export const REGISTRATION_BACKOFF_FACTOR_MS = 1_000;
export const REGISTRATION_BACKOFF_MAX_MS = 60_000;
/** Without total_ping_timeout_seconds from the master, the stream is presumed dead after this many ping intervals of silence. */
const MAX_MISSED_PINGS = 5;
const CALL_TIMEOUT_MS = 10_000;
/** Stopping must not hang on a master that does not answer. */
const UNSUBSCRIBE_TIMEOUT_MS = 2_000;
/** How long one attempt waits for etcd to name a leader before it backs off and tries again. */
const LEADER_WAIT_MS = 30_000;
/** A new leader is subscribed to after a random delay up to this, so a cluster's agents do not all come at once. */
const NEW_LEADER_JITTER_MS = 250;

export interface MasterLinkDeps {
  /** "http://host:port" of the master, or "etcd://host:port[,...][/prefix]" to follow the leader. */
  masterUrl: string;
  logger: Logger;
  /** Builds the SUBSCRIBE payload afresh for every attempt: it reports the tasks running now. */
  subscription: () => AgentSubscribe;
  /** Every event after it has been decoded (SUBSCRIBED included); PINGs are answered here. */
  onEvent: (event: AgentEvent) => void;
  /** The stream broke after SUBSCRIBED; a reconnect is already scheduled. */
  onDisconnected: () => void;
  random?: () => number;
}

export class MasterLink implements StatusForwarder {
  private stream: EventStreamClient | undefined;
  private streamId: string | undefined;
  private agentId: string | undefined;
  private subscribed = false;
  private stopped = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private watchdogMs = 0;
  /** Where the next SUBSCRIBE goes when a standby pointed to the leader; else the detector says. */
  private target: string | undefined;
  /** The master the current stream is from: calls go where the stream came from. */
  private connectedUrl: string | undefined;
  private readonly detector: MasterDetector;

  constructor(private readonly deps: MasterLinkDeps) {
    this.detector = createMasterDetector(deps.masterUrl, (err) =>
      deps.logger.warn({ error: err.message }, 'cannot read the leading master from etcd; retrying'),
    );
    this.detector.onChange((url) => this.onNewLeader(url));
  }

  get isSubscribed(): boolean {
    return this.subscribed;
  }

  start(): void {
    void this.connect();
  }

  forwardStatus(frameworkId: string, status: TaskStatus, latestState: TaskState): void {
    if (!this.subscribed || this.agentId === undefined) return; // Resent by the status update manager on resubscription.
    void this.call({
      type: 'STATUS_UPDATE',
      agent_id: { value: this.agentId },
      status_update: { framework_id: { value: frameworkId }, status, latest_state: latestState },
    });
  }

  /**
   * Posts a call that names this agent (EXECUTOR_MESSAGE, EXECUTOR_EXITED). Best effort, as in
   * Mesos: dropped while not subscribed (a master that missed an exit learns it from the next
   * subscription's executor report).
   */
  post(build: (agentId: { value: string }) => AgentCall): void {
    if (!this.subscribed || this.agentId === undefined) return;
    void this.call(build({ value: this.agentId }));
  }

  /** Stops reconnecting, tells the master the agent is leaving (best effort), closes the stream. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.watchdog);
    if (this.subscribed && this.agentId !== undefined) {
      await this.call({ type: 'UNSUBSCRIBE', agent_id: { value: this.agentId } }, UNSUBSCRIBE_TIMEOUT_MS);
    }
    this.subscribed = false;
    this.stream?.close();
    await this.detector.close();
  }

  /** etcd names a new leader: leave the old one (if its stream still looks open) and subscribe there soon. */
  private onNewLeader(url: string | undefined): void {
    if (this.stopped || url === undefined || url === this.connectedUrl) return;
    this.deps.logger.info({ leader: url }, 'a new leading master was elected');
    if (this.stream !== undefined) {
      this.stream.close(); // onStreamEnded schedules the reconnect.
      return;
    }
    if (this.reconnectTimer === undefined) return; // An attempt is under way; it asks the detector.
    clearTimeout(this.reconnectTimer);
    this.failures = 0;
    const delayMs = Math.floor((this.deps.random ?? Math.random)() * NEW_LEADER_JITTER_MS);
    this.reconnectTimer = setTimeout(() => void this.connect(), delayMs);
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    let base: string;
    try {
      base = this.target ?? (await this.detector.leader(LEADER_WAIT_MS));
    } catch (err) {
      this.deps.logger.warn({ master: this.detector.description, error: (err as Error).message }, 'no leading master known');
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    const url = `${base}${AGENT_LINK_PATH}`;
    this.target = undefined;
    let client: EventStreamClient & { errorText?: string };
    try {
      client = await openEventStream(url, { type: 'SUBSCRIBE', subscribe: this.deps.subscription() } satisfies AgentCall);
    } catch (err) {
      this.deps.logger.warn({ url, error: (err as Error).message }, 'cannot reach the master');
      return this.scheduleReconnect();
    }
    if (this.stopped) return client.close();
    if (client.status !== 200) {
      const location = client.headers.location;
      if (client.status === 307 && location !== undefined) this.followLeader(location);
      this.deps.logger.warn({ url, status: client.status, error: client.errorText?.trim() }, 'the master refused the subscription');
      return this.scheduleReconnect();
    }
    this.stream = client;
    this.connectedUrl = base;
    this.streamId = headerText(client.headers['mesos-stream-id']);
    try {
      for await (const raw of client.events) this.onRecord(raw);
    } catch (err) {
      this.deps.logger.warn({ error: (err as Error).message }, 'the master event stream failed');
    }
    this.onStreamEnded();
  }

  private onRecord(raw: unknown): void {
    this.armWatchdog();
    const decoded = AgentEvent.safeParse(raw);
    if (!decoded.success) {
      this.deps.logger.warn({ error: decoded.error.issues[0]?.message, event: raw }, 'ignoring an undecodable event from the master');
      return;
    }
    const event = decoded.data;
    if (event.type === 'SUBSCRIBED') {
      this.subscribed = true;
      this.failures = 0;
      this.agentId = event.subscribed.agent_id.value;
      const { ping_interval_seconds: interval, total_ping_timeout_seconds: total } = event.subscribed;
      this.watchdogMs = (total ?? interval * MAX_MISSED_PINGS) * 1000;
      this.armWatchdog();
    } else if (event.type === 'PING' && this.agentId !== undefined) {
      void this.call({ type: 'PONG', agent_id: { value: this.agentId } });
    }
    this.deps.onEvent(event);
  }

  private onStreamEnded(): void {
    const wasSubscribed = this.subscribed;
    this.subscribed = false;
    this.stream = undefined;
    this.streamId = undefined;
    this.connectedUrl = undefined;
    clearTimeout(this.watchdog);
    if (this.stopped) return;
    this.deps.logger.warn('disconnected from the master');
    this.scheduleReconnect();
    if (wasSubscribed) this.deps.onDisconnected();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.failures++;
    const capMs = Math.min(REGISTRATION_BACKOFF_FACTOR_MS * 2 ** (this.failures - 1), REGISTRATION_BACKOFF_MAX_MS);
    const delayMs = Math.floor((this.deps.random ?? Math.random)() * capMs);
    this.deps.logger.info({ delayMs }, 'subscribing to the master again after a backoff');
    this.reconnectTimer = setTimeout(() => void this.connect(), delayMs);
  }

  /** A standby answered 307 with `//leader:port/...`: the next attempt goes to the leader. */
  private followLeader(location: string): void {
    const match = /^(?:https?:)?\/\/([^/]+)/.exec(location);
    if (match !== null) this.target = `http://${match[1]}`;
  }

  /** A master that sends nothing for several ping intervals is gone, even if the socket looks open. */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    if (this.watchdogMs <= 0 || this.stopped) return;
    this.watchdog = setTimeout(() => {
      this.deps.logger.warn({ silentMs: this.watchdogMs }, 'no pings from the master; reconnecting');
      this.stream?.close();
    }, this.watchdogMs);
  }

  private async call(call: AgentCall, timeoutMs = CALL_TIMEOUT_MS): Promise<void> {
    if (this.streamId === undefined || this.connectedUrl === undefined) return;
    try {
      const response = await request(`${this.connectedUrl}${AGENT_LINK_PATH}`, JSON.stringify(call), {
        headers: { 'Mesos-Stream-Id': this.streamId },
        timeoutMs,
      });
      if (response.status !== 202) {
        this.deps.logger.warn({ call: call.type, status: response.status, error: response.text.trim() }, 'the master refused a call');
      }
    } catch (err) {
      this.deps.logger.warn({ call: call.type, error: (err as Error).message }, 'a call to the master failed');
    }
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
