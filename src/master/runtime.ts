/**
 * The master's shell around its core: owns the open streams and real timers, feeds the core
 * its inputs, and carries out the effects it returns, in order. It makes no decisions.
 */
import type { Logger } from 'pino';
import type { AgentCall, AgentSubscribe, MasterCall, SchedulerCall } from '../api/index.js';
import { AgoraError } from '../base/index.js';
import type { EventStream } from '../http/index.js';
import type { CallReply, Effect, MasterCore, OperatorReply } from './core/index.js';
import type { Registry, RegistryOperation } from './registry/index.js';

export class MasterRuntime {
  private readonly streams = new Map<string, EventStream>();
  private readonly timers = new Map<string, Timer>();
  private nextConnection = 0;
  private stopped = false;
  /**
   * "Persistence comes before replies": a `persist` goes to the registry at once, and every later
   * effect waits until it is stored, so no one sees a change the registry could still lose.
   * Writes are numbered; each blocked effect waits for the write issued just before it.
   * Registries resolve in order, so `durable` only grows.
   */
  private issued = 0;
  private durable = 0;
  private readonly blocked: Array<{ effect: Effect; after: number }> = [];
  /** flush() callers waiting for the effects they flushed to be carried out. */
  private readonly waiters: Array<{ after: number; resolve: () => void; reject: (err: Error) => void }> = [];
  private failed: Error | undefined;

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
   * Carries out the core's effects in order: registry writes start at once (several may be in
   * flight, and a registry may store them together), other effects as soon as every write
   * before them is stored. The promise settles when these effects are done.
   */
  private flush(): Promise<void> {
    const effects = this.core.takeEffects();
    if (this.failed !== undefined) return Promise.reject(this.failed);
    for (const effect of effects) {
      if (effect.kind === 'persist') {
        this.store(effect.operation);
      } else if (this.blocked.length > 0 || this.durable < this.issued) {
        this.blocked.push({ effect, after: this.issued });
      } else {
        this.carryOut(effect);
      }
    }
    if (this.durable >= this.issued && this.blocked.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ after: this.issued, resolve, reject }));
    // Callers that do not wait must not see an unhandled rejection: onFatal has the failure.
    done.catch(() => undefined);
    return done;
  }

  private store(operation: RegistryOperation): void {
    const sequence = ++this.issued;
    this.registry.apply(operation).then(
      () => {
        if (this.failed !== undefined) return;
        this.durable = Math.max(this.durable, sequence);
        while (this.blocked.length > 0 && this.blocked[0]!.after <= this.durable) this.carryOut(this.blocked.shift()!.effect);
        while (this.waiters.length > 0 && this.waiters[0]!.after <= this.durable) this.waiters.shift()!.resolve();
      },
      (err: Error) => {
        if (this.failed !== undefined) return;
        this.failed = err;
        this.blocked.length = 0;
        this.log.fatal({ err, operation: operation.type }, 'cannot store a registry operation');
        for (const waiter of this.waiters.splice(0)) waiter.reject(err);
        this.onFatal(err);
      },
    );
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
        return; // flush() stores these; none reaches here.
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
