/**
 * The master's shell around its core: owns the open streams and real timers, feeds the core
 * its inputs, and carries out the effects it returns, in order. It makes no decisions.
 */
import type { Logger } from 'pino';
import type { AgentCall, AgentSubscribe, SchedulerCall } from '../api/index.js';
import type { AgoraError } from '../base/index.js';
import type { EventStream } from '../http/index.js';
import type { CallReply, Effect, MasterCore } from './core/index.js';

export class MasterRuntime {
  private readonly streams = new Map<string, EventStream>();
  private readonly timers = new Map<string, Timer>();
  private nextConnection = 0;
  private stopped = false;

  constructor(
    readonly core: MasterCore,
    private readonly log: Logger,
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

  /** Closes every stream and timer. The core is left as it was. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimer(timer);
    this.timers.clear();
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
  }

  private flush(): void {
    for (const effect of this.core.takeEffects()) this.carryOut(effect);
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
