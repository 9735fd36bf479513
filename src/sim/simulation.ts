/**
 * The simulator: the real master core and allocator, driven in virtual time by hollow agents and
 * synthetic frameworks over an in-process network with per-connection FIFO delays. It is the
 * core's shell here: it carries out the core's effects as the HTTP runtime does, minus sockets.
 */
import { Prng, SequentialIds } from '../base/index.js';
import type { AgentCall, SchedulerCall, SchedulerEvent } from '../api/index.js';
import { Allocator } from '../allocator/index.js';
import { DEFAULT_CORE_CONFIG, MasterCore } from '../master/core/index.js';
import { Resources } from '../resources/index.js';
import { InvariantChecker } from './checkers.js';
import { EventLog } from './event-log.js';
import { HollowAgent } from './hollow-agent.js';
import type { Scenario } from './scenario.js';
import { SimClock } from './sim-clock.js';
import { SyntheticFramework } from './synthetic-framework.js';

export const SIM_MASTER_ID = '5a5a5a5a-0000-4000-8000-000000000000';

export interface SimHooks {
  /** Wall-clock milliseconds, for timing the core (the simulation itself never reads it). */
  wallMs?: () => number;
  /** Called with the wall time of each allocation pass the core ran, and its timer (batch or prompt). */
  onAllocation?: (wallMs: number, timer: string) => void;
}

export class Simulation {
  readonly clock = new SimClock();
  readonly core: MasterCore;
  readonly agents: HollowAgent[] = [];
  readonly agentsById = new Map<string, HollowAgent>();
  readonly frameworks: SyntheticFramework[] = [];
  readonly log = new EventLog();
  readonly checker: InvariantChecker;
  /** Wall milliseconds spent inside the master core (only measured when hooks.wallMs is given). */
  coreWallMs = 0;
  /** Calls the core refused: a well-behaved sim peer never gets one, so each is a finding. */
  readonly refusedCalls: string[] = [];
  private readonly prng: Prng;
  private readonly receivers = new Map<string, (event: unknown) => void>();
  private readonly lastDelivery = new Map<string, number>();
  private readonly timerVersions = new Map<string, number>();
  private nextConnection = 0;

  constructor(
    readonly scenario: Scenario,
    private readonly hooks: SimHooks = {},
  ) {
    this.prng = new Prng(scenario.seed);
    this.core = new MasterCore({
      clock: this.clock,
      ids: new SequentialIds(scenario.seed),
      allocator: new Allocator({ clock: this.clock, prng: new Prng(scenario.seed + 1) }),
      config: {
        ...DEFAULT_CORE_CONFIG,
        masterInfo: { id: SIM_MASTER_ID, ip: 0, port: 5050, hostname: 'sim-master' },
        allocationIntervalMs: scenario.allocationIntervalSeconds * 1000,
      },
    });
    this.checker = new InvariantChecker(this.agentsById);
    this.core.start();
    this.drain();
    this.setQuota();
    this.addAgents();
    this.addFrameworks();
  }

  /** Runs the scenario for its duration, then lets in-flight work settle and checks the end state. */
  run(onProgress?: (sim: Simulation) => void, progressEveryMs = 10_000): void {
    const endMs = this.scenario.durationSeconds * 1000;
    for (let t = progressEveryMs; t < endMs; t += progressEveryMs) {
      this.clock.runUntil(t);
      onProgress?.(this);
    }
    this.clock.runUntil(endMs);
    this.settle();
  }

  /** Batch frameworks that are done stop; then 30 s more without new arrivals lets updates and acks drain. */
  settle(): void {
    this.clock.runUntil(this.clock.monotonicMs() + 30_000);
    if (this.scenario.checkInvariants) this.checker.checkSettled(this.frameworks.filter((f) => f.done || f.workload.kind === 'service'), this.agents);
  }

  get violations(): string[] {
    return [...this.checker.violations, ...this.refusedCalls];
  }

  private setQuota(): void {
    const configs = this.scenario.quota.map((q) => ({
      role: q.role,
      ...(q.guarantees === undefined ? {} : { guarantees: scalars(q.guarantees) }),
      ...(q.limits === undefined ? {} : { limits: scalars(q.limits) }),
    }));
    if (configs.length === 0) return;
    const reply = this.core.operatorCall({ type: 'UPDATE_QUOTA', update_quota: { force: true, quota_configs: configs } });
    if (!('status' in reply)) this.refusedCalls.push(`UPDATE_QUOTA: ${reply.message}`);
    for (const q of this.scenario.quota) if (q.limits !== undefined) this.checker.setQuotaLimit(q.role, q.limits);
    this.drain();
    // Limits are checked every simulated second: the check walks every agent.
    const check = () => {
      this.checker.checkQuotaLimits(this.agents);
      this.clock.after(1_000, check);
    };
    if (this.scenario.checkInvariants) this.clock.after(1_000, check);
  }

  private addAgents(): void {
    for (const spec of this.scenario.agents) {
      const total = Resources.parse(spec.resources);
      if ('error' in total) throw new Error(`scenario agents: ${total.error}`);
      for (let i = 0; i < spec.count; i++) {
        const agent = new HollowAgent(this.agents.length, total, this.clock, this.prng, this.agentWire, this.scenario.taskStartMs);
        this.agents.push(agent);
        this.connect(agent, `a${agent.index}`);
      }
    }
  }

  private connect(agent: HollowAgent, connection: string): void {
    this.receivers.set(connection, (event) => {
      agent.onEvent(event as Parameters<HollowAgent['onEvent']>[0]);
      if (agent.agentId !== undefined && !this.agentsById.has(agent.agentId)) this.agentsById.set(agent.agentId, agent);
      if (agent.agentId !== undefined) this.checker.markDirty(agent.agentId);
    });
    this.clock.after(this.latency(), () => {
      const outcome = this.core.subscribeAgent(connection, agent.subscribeCall());
      if ('streamId' in outcome) agent.streamId = outcome.streamId;
      else this.refusedCalls.push(`agent ${agent.index} subscribe: ${outcome.message}`);
      this.drain();
    });
  }

  private addFrameworks(): void {
    for (const spec of this.scenario.frameworks) {
      for (let i = 0; i < spec.count; i++) {
        const name = spec.count === 1 ? spec.name : `${spec.name}-${i}`;
        const framework = new SyntheticFramework(name, spec.roles, spec.workload, this.clock, this.prng, this.frameworkWire);
        this.frameworks.push(framework);
        const connection = `f${this.nextConnection++}`;
        this.receivers.set(connection, (event) => this.toFramework(framework, event as SchedulerEvent));
        this.clock.schedule(spec.startSeconds * 1000, () => {
          const outcome = this.core.subscribeFramework(connection, { type: 'SUBSCRIBE', subscribe: { framework_info: framework.info() } }, undefined);
          if ('streamId' in outcome) framework.streamId = outcome.streamId;
          else this.refusedCalls.push(`framework ${name} subscribe: ${outcome.message}`);
          this.drain();
        });
      }
    }
  }

  private toFramework(framework: SyntheticFramework, event: SchedulerEvent): void {
    if (event.type === 'OFFERS') this.checker.onOffers(event.offers.offers);
    if (event.type === 'RESCIND') this.checker.onOfferGone(event.rescind.offer_id.value);
    framework.onEvent(event);
  }

  private readonly frameworkWire = {
    call: (framework: SyntheticFramework, call: SchedulerCall) => {
      this.clock.after(this.latency(), () => {
        for (const id of call.accept?.offer_ids ?? call.decline?.offer_ids ?? []) this.checker.onOfferGone(id.value);
        const reply = this.timed(() => this.core.schedulerCall(call, framework.streamId));
        if (typeof reply !== 'number') this.refusedCalls.push(`${framework.name} ${call.type}: ${reply.message}`);
        this.log.record(this.clock.monotonicMs(), `call ${framework.name} ${call.type}`);
        this.drain();
      });
    },
  };

  private readonly agentWire = {
    call: (agent: HollowAgent, call: Exclude<AgentCall, { type: 'SUBSCRIBE' }>) => {
      this.clock.after(this.latency(), () => {
        const error = this.timed(() => this.core.agentCall(call, agent.streamId));
        if (error !== undefined) this.refusedCalls.push(`agent ${agent.index} ${call.type}: ${error.message}`);
        this.drain();
      });
    },
  };

  /** Carries out the core's effects: events go out over the simulated network, timers into virtual time. */
  private drain(): void {
    for (const effect of this.core.takeEffects()) {
      switch (effect.kind) {
        case 'frameworkEvent':
        case 'agentEvent':
          this.deliver(effect.connection, effect.event);
          break;
        case 'closeConnection':
          this.receivers.delete(effect.connection);
          break;
        case 'setTimer': {
          const version = (this.timerVersions.get(effect.name) ?? 0) + 1;
          this.timerVersions.set(effect.name, version);
          this.clock.schedule(Math.max(effect.atMs, this.clock.monotonicMs()), () => {
            if (this.timerVersions.get(effect.name) !== version) return;
            this.timerVersions.delete(effect.name);
            const started = this.hooks.wallMs?.();
            this.core.timerFired(effect.name);
            if (started !== undefined) {
              const spentMs = this.hooks.wallMs!() - started;
              this.coreWallMs += spentMs;
              if (effect.name.startsWith('allocation:')) this.hooks.onAllocation?.(spentMs, effect.name);
            }
            this.drain();
          });
          break;
        }
        case 'cancelTimer':
          this.timerVersions.set(effect.name, (this.timerVersions.get(effect.name) ?? 0) + 1);
          break;
      }
    }
    if (this.scenario.checkInvariants) this.checker.checkCapacity();
  }

  private timed<T>(run: () => T): T {
    const wallMs = this.hooks.wallMs;
    if (wallMs === undefined) return run();
    const started = wallMs();
    const result = run();
    this.coreWallMs += wallMs() - started;
    return result;
  }

  /** Delivers in order per connection: a later message never overtakes an earlier one. */
  private deliver(connection: string, event: { type: string }): void {
    const atMs = Math.max(this.clock.monotonicMs() + this.latency(), this.lastDelivery.get(connection) ?? 0);
    this.lastDelivery.set(connection, atMs);
    this.clock.schedule(atMs, () => {
      this.log.record(atMs, `${connection} ${event.type}`);
      this.receivers.get(connection)?.(event);
    });
  }

  private latency(): number {
    const { min, max } = this.scenario.latencyMs;
    return max === 0 ? 0 : min + this.prng.next() * (max - min);
  }
}

function scalars(values: Readonly<Record<string, number>>): Record<string, { value: number }> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { value }]));
}
