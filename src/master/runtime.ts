/**
 * The master's shell around its core: owns the open streams and real timers, feeds the core
 * its inputs, and carries out the effects it returns, in order. It makes no decisions.
 */
import type { Logger } from 'pino';
import type { AgentCall, AgentSubscribe, MasterCall, SchedulerCall } from '../api/index.js';
import { AgoraError } from '../base/index.js';
import type { EventStream } from '../http/index.js';
import type { CallReply, Effect, MasterCore, OperatorReply } from './core/index.js';
import type { Registry } from './registry/index.js';

export class MasterRuntime {
  private readonly streams = new Map<string, EventStream>();
  private readonly timers = new Map<string, Timer>();
  private nextConnection = 0;
  private stopped = false;
  /**
   * Effects waiting for a registry write to finish, in order; undefined while none is in
   * flight. "Persistence comes before replies": nothing after a `persist` happens before it is
   * stored, so no one sees a change the registry could still lose.
   */
  private backlog: Effect[] | undefined;
  /** Settles once the backlog (and every write it starts) has been carried out. */
  private settled: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    readonly core: MasterCore,
    private readonly log: Logger,
    private readonly registry: Registry,
    /** A registry write failed: the master cannot go on (Mesos aborts too). */
    private readonly onFatal: (err: Error) => void = () => undefined,
  ) {}

  start(): void {
    this.core.start();
    this.flush();
  }

  /** Registers the stream the HTTP layer opened for a connection the core accepted. */
  private attach(connection: string, stream: EventStream, onClosed: (connection: string) => void): void {
    this.streams.set(connection, stream);
    stream.onClose(() => {
      // Streams the core closed itself were removed from the map first; the core knows.
      if (!this.streams.delete(connection) || this.stopped) return;
      onClosed(connection);
      this.flush();
    });
  }

  /**
   * SUBSCRIBE from a scheduler. `open` creates the response stream with the given stream id;
   * it is only called when the core accepts the call, before any event is written to it.
   */
  subscribeFramework(
    call: SchedulerCall,
    streamIdHeader: string | undefined,
    open: (streamId: string) => EventStream,
  ): AgoraError | undefined {
    const connection = `c${this.nextConnection++}`;
    const outcome = this.core.subscribeFramework(connection, call, streamIdHeader);
    if (!('streamId' in outcome)) {
      this.flush();
      return outcome;
    }
    this.attach(connection, open(outcome.streamId), (c) => this.core.frameworkDisconnected(c));
    this.flush();
    return undefined;
  }

  schedulerCall(call: SchedulerCall, streamIdHeader: string | undefined): CallReply {
    const reply = this.core.schedulerCall(call, streamIdHeader);
    this.flush();
    return reply;
  }

  subscribeAgent(subscribe: AgentSubscribe, open: (streamId: string) => EventStream): AgoraError | undefined {
    const connection = `c${this.nextConnection++}`;
    const outcome = this.core.subscribeAgent(connection, subscribe);
    if (!('streamId' in outcome)) {
      this.flush();
      return outcome;
    }
    this.attach(connection, open(outcome.streamId), (c) => this.core.agentDisconnected(c));
    this.flush();
    return undefined;
  }

  agentCall(call: Exclude<AgentCall, { type: 'SUBSCRIBE' }>, streamIdHeader: string | undefined): AgoraError | undefined {
    const error = this.core.agentCall(call, streamIdHeader);
    this.flush();
    return error;
  }

  /** A v1 Operator API call; resolves once what it changed is stored and its effects are carried out. */
  async operatorCall(call: MasterCall): Promise<OperatorReply> {
    const reply = this.core.operatorCall(call);
    try {
      await this.flush();
    } catch {
      return new AgoraError('AGORA_ERR_UNAVAILABLE', 'The master could not store the change in its registry; it is shutting down (see its log)');
    }
    return reply;
  }

  /** Closes every stream and timer. The core is left as it was. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimer(timer);
    this.timers.clear();
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
  }

  /**
   * Carries out the core's effects in order. Without a registry write in flight that happens
   * now; otherwise they queue behind it. The promise settles when these effects are done.
   */
  private flush(): Promise<void> {
    const effects = this.core.takeEffects();
    if (this.failed) return Promise.reject(new Error('the registry failed'));
    if (this.backlog !== undefined) {
      this.backlog.push(...effects);
      return this.settled;
    }
    const done = this.run(effects);
    // Callers that do not wait must not see an unhandled rejection: onFatal has the failure.
    done.catch(() => undefined);
    return done;
  }

  private run(effects: Effect[]): Promise<void> {
    for (let i = 0; i < effects.length; i++) {
      const effect = effects[i]!;
      if (effect.kind !== 'persist') {
        this.carryOut(effect);
        continue;
      }
      this.backlog = effects.slice(i + 1);
      this.settled = this.registry.apply(effect.operation).then(
        () => {
          const rest = this.backlog!;
          this.backlog = undefined;
          return this.run(rest);
        },
        (err: Error) => {
          this.failed = true;
          this.backlog = undefined;
          this.log.fatal({ err, operation: effect.operation.type }, 'cannot store a registry operation');
          this.onFatal(err);
          throw err;
        },
      );
      return this.settled;
    }
    return Promise.resolve();
  }

  private carryOut(effect: Effect): void {
    switch (effect.kind) {
      case 'frameworkEvent':
      case 'agentEvent':
        this.streams.get(effect.connection)?.send(effect.event);
        return;
      case 'closeConnection': {
        const stream = this.streams.get(effect.connection);
        this.streams.delete(effect.connection);
        stream?.close();
        return;
      }
      case 'setTimer': {
        if (this.stopped) return;
        const previous = this.timers.get(effect.name);
        if (previous !== undefined) clearTimer(previous);
        const delayMs = Math.max(0, effect.atMs - performance.now());
        const fire = () => {
          this.timers.delete(effect.name);
          try {
            this.core.timerFired(effect.name);
          } catch (err) {
            this.log.fatal({ err, timer: effect.name }, 'master core failed on a timer');
            throw err;
          }
          this.flush();
        };
        // A zero-delay timer (prompt allocation) runs after pending I/O, so a burst of calls shares one pass.
        this.timers.set(effect.name, delayMs === 0 ? { immediate: setImmediate(fire) } : { timeout: setTimeout(fire, delayMs) });
        return;
      }
      case 'persist':
        return; // run() handles these; none reaches here.
      case 'cancelTimer': {
        const timer = this.timers.get(effect.name);
        if (timer !== undefined) clearTimer(timer);
        this.timers.delete(effect.name);
        return;
      }
    }
  }
}

type Timer = { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate };

function clearTimer(timer: Timer): void {
  if ('timeout' in timer) clearTimeout(timer.timeout);
  else clearImmediate(timer.immediate);
}
