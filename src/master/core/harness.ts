/**
 * A shell for the master core that records instead of doing I/O: events per connection, timers
 * in virtual time, a ManualClock. Unit tests and the simulator drive the real core with it.
 */
import { ManualClock, SequentialIds, assert, base64Encode } from '../../base/index.js';
import type { AgentEvent, AgentSubscribe, FrameworkInfo, MasterCall, Offer, SchedulerCall, SchedulerEvent, TaskState } from '../../api/index.js';
import { type RegistryOperation, type RegistryState, emptyRegistry } from '../registry/state.js';
import type { OperatorReply } from './operator-calls.js';
import { Allocator } from '../../allocator/index.js';
import { Resources } from '../../resources/index.js';
import { DEFAULT_CORE_CONFIG } from './context.js';
import type { MasterCoreConfig } from './context.js';
import { MasterCore } from './master-core.js';
import type { CallReply } from './scheduler-calls.js';

export const HARNESS_MASTER_ID = 'a0a0a0a0-0000-4000-8000-000000000000';

export class MasterHarness {
  readonly clock = new ManualClock();
  readonly core: MasterCore;
  readonly frameworkEvents = new Map<string, SchedulerEvent[]>();
  readonly agentEvents = new Map<string, AgentEvent[]>();
  readonly closed = new Set<string>();
  /** Registry operations the core asked to store, in order. */
  readonly persisted: RegistryOperation[] = [];
  private readonly timers = new Map<string, number>();
  private nextConnection = 0;

  constructor(overrides: Partial<MasterCoreConfig> = {}, registry?: Partial<RegistryState>) {
    const allocator = new Allocator({ clock: this.clock });
    this.core = new MasterCore({
      clock: this.clock,
      ids: new SequentialIds(7),
      allocator,
      checkInvariants: true,
      config: {
        ...DEFAULT_CORE_CONFIG,
        masterInfo: { id: HARNESS_MASTER_ID, ip: 16777343, port: 5050, hostname: 'master.test' },
        ...overrides,
      },
    });
    if (registry !== undefined) this.core.recover({ ...emptyRegistry(), ...registry });
    this.core.start();
    this.drain();
  }

  /** A v1 Operator API call, its effects carried out. */
  operator(call: MasterCall): OperatorReply {
    const reply = this.core.operatorCall(call);
    this.drain();
    return reply;
  }

  /** Agents that stopped answering pings, as a hung agent process would. */
  readonly silentAgents = new Set<string>();

  /** Carries out the core's effects: records events, tracks timers; live agents answer pings. */
  drain(): void {
    const pinged: string[] = [];
    for (const effect of this.core.takeEffects()) {
      switch (effect.kind) {
        case 'frameworkEvent':
          this.frameworkEvents.get(effect.connection)?.push(effect.event);
          break;
        case 'agentEvent':
          this.agentEvents.get(effect.connection)?.push(effect.event);
          if (effect.event.type === 'PING') pinged.push(effect.connection);
          break;
        case 'closeConnection':
          this.closed.add(effect.connection);
          break;
        case 'setTimer':
          this.timers.set(effect.name, effect.atMs);
          break;
        case 'cancelTimer':
          this.timers.delete(effect.name);
          break;
        case 'persist':
          this.persisted.push(effect.operation);
          break;
      }
    }
    for (const connection of pinged) {
      const agent = [...this.core.state.agents.values()].find((a) => a.connection === connection);
      if (agent === undefined || this.silentAgents.has(agent.id)) continue;
      this.core.agentCall({ type: 'PONG', agent_id: { value: agent.id } }, agent.streamId);
      this.drain();
    }
  }

  /** Moves time forward, firing due timers in (time, name) order, as a real event loop would. */
  advanceMs(deltaMs: number): void {
    const target = this.clock.monotonicMs() + deltaMs;
    for (;;) {
      const due = [...this.timers].filter(([, at]) => at <= target).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
      const next = due[0];
      if (next === undefined) break;
      this.clock.advanceMs(Math.max(0, next[1] - this.clock.monotonicMs()));
      this.timers.delete(next[0]);
      this.core.timerFired(next[0]);
      this.drain();
    }
    this.clock.advanceMs(target - this.clock.monotonicMs());
  }

  /** Runs timers due now (such as the prompt allocation). */
  settle(): void {
    this.advanceMs(0);
  }

  subscribe(info: Partial<FrameworkInfo> = {}, extra: Partial<NonNullable<SchedulerCall['subscribe']>> = {}): FrameworkClient {
    const connection = `f${this.nextConnection++}`;
    this.frameworkEvents.set(connection, []);
    const frameworkInfo: FrameworkInfo = { user: 'root', name: 'test', ...info };
    const outcome = this.core.subscribeFramework(
      connection,
      { type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo, ...extra } },
      undefined,
    );
    this.drain();
    assert('streamId' in outcome, `subscribe refused: ${(outcome as Error).message}`);
    const subscribed = this.frameworkEvents.get(connection)!.find((e) => e.type === 'SUBSCRIBED');
    const frameworkId = subscribed?.type === 'SUBSCRIBED' ? subscribed.subscribed.framework_id.value : '';
    return new FrameworkClient(this, connection, outcome.streamId, frameworkId);
  }

  addAgent(resources = 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]', extra: Partial<AgentSubscribe> = {}): AgentClient {
    const connection = `a${this.nextConnection++}`;
    this.agentEvents.set(connection, []);
    const parsed = Resources.parse(resources);
    assert(!('error' in parsed), `bad resources: ${resources}`);
    const { agent_info: info, ...rest } = extra;
    const outcome = this.core.subscribeAgent(connection, {
      agent_info: { hostname: `host${this.nextConnection}`, resources: parsed.toWire(), ...info },
      endpoint: { ip: '127.0.0.1', port: 5051 + this.nextConnection },
      version: 'test',
      ...rest,
    });
    this.drain();
    assert('streamId' in outcome, `agent subscribe refused: ${(outcome as Error).message}`);
    const subscribed = this.agentEvents.get(connection)!.find((e) => e.type === 'SUBSCRIBED');
    const agentId = subscribed?.type === 'SUBSCRIBED' ? subscribed.subscribed.agent_id.value : '';
    return new AgentClient(this, connection, outcome.streamId, agentId);
  }
}

export class FrameworkClient {
  constructor(
    readonly h: MasterHarness,
    readonly connection: string,
    readonly streamId: string,
    readonly id: string,
  ) {}

  get events(): SchedulerEvent[] {
    return this.h.frameworkEvents.get(this.connection)!;
  }

  eventsOf<T extends SchedulerEvent['type']>(type: T): Extract<SchedulerEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<SchedulerEvent, { type: T }> => e.type === type);
  }

  offers(): Offer[] {
    return this.eventsOf('OFFERS').flatMap((e) => e.offers.offers);
  }

  /** Offers not yet used, declined or rescinded. */
  outstandingOffers(): Offer[] {
    return this.offers().filter((o) => this.h.core.state.offers.has(o.id.value));
  }

  updates() {
    return this.eventsOf('UPDATE').map((e) => e.update.status);
  }

  call(call: Omit<SchedulerCall, 'framework_id'>, streamId: string | undefined = this.streamId): CallReply {
    const reply = this.h.core.schedulerCall({ framework_id: { value: this.id }, ...call } as SchedulerCall, streamId);
    this.h.drain();
    return reply;
  }

  launch(offer: Offer, tasks: Array<{ id: string; resources: string; command?: string }>, refuseSeconds?: number): CallReply {
    return this.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: tasks.map((t) => ({
                name: t.id,
                task_id: { value: t.id },
                agent_id: offer.agent_id,
                resources: (Resources.parse(t.resources) as Resources).toWire(),
                command: { value: t.command ?? 'true' },
              })),
            },
          },
        ],
        ...(refuseSeconds === undefined ? {} : { filters: { refuse_seconds: refuseSeconds } }),
      },
    });
  }

  disconnect(): void {
    this.h.core.frameworkDisconnected(this.connection);
    this.h.drain();
  }
}

export class AgentClient {
  private updateNumber = 0;

  constructor(
    readonly h: MasterHarness,
    readonly connection: string,
    readonly streamId: string,
    readonly id: string,
  ) {}

  get events(): AgentEvent[] {
    return this.h.agentEvents.get(this.connection)!;
  }

  eventsOf<T extends AgentEvent['type']>(type: T): Extract<AgentEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
  }

  /** Sends a status update as the agent would; returns its uuid (base64). */
  update(frameworkId: string, taskId: string, state: TaskState): string {
    const bytes = new Uint8Array(16).fill(1);
    bytes[15] = this.updateNumber++;
    const uuid = base64Encode(bytes);
    const error = this.h.core.agentCall(
      {
        type: 'STATUS_UPDATE',
        agent_id: { value: this.id },
        status_update: {
          framework_id: { value: frameworkId },
          status: { task_id: { value: taskId }, state, source: 'SOURCE_EXECUTOR', uuid, timestamp: this.h.clock.realtimeMs() / 1000 },
        },
      },
      this.streamId,
    );
    this.h.drain();
    assert(error === undefined, `status update refused: ${error?.message}`);
    return uuid;
  }

  disconnect(): void {
    this.h.core.agentDisconnected(this.connection);
    this.h.drain();
  }
}
