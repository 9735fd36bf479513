/**
 * What every master core handler works with: the state, the injected clock and ids, the
 * allocator, the configuration, counters, and the queue of effects for the shell.
 */
import type { Clock, IdSource } from '../../base/index.js';
import type { AgentEvent, MasterInfo, Resource, SchedulerEvent } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import type { Allocator } from '../../allocator/index.js';
import type { Effect, TimerName } from './effects.js';
import type { AgentRecord, FrameworkRecord } from './state.js';
import { MasterState } from './state.js';

export interface MasterCoreConfig {
  masterInfo: MasterInfo;
  /** HEARTBEAT period on scheduler streams (Mesos: fixed 15 s). */
  heartbeatIntervalMs: number;
  /** Batch allocation period (--allocation_interval, Mesos default 1 s). */
  allocationIntervalMs: number;
  /** --agent_ping_timeout (15 s) and --max_agent_ping_timeouts (5). */
  agentPingTimeoutMs: number;
  maxAgentPingTimeouts: number;
  /**
   * --agent_removal_rate_limit ("1/10mins"): at most `permits` agents marked unreachable for
   * failing pings per `intervalMs`; absent (Mesos's default) = as soon as they fail.
   */
  agentRemovalRateLimit?: { permits: number; intervalMs: number };
  /**
   * --agent_reregister_timeout (Mesos 10mins): how long a disconnected agent, or an agent known
   * from the registry after a master restart, may take to come back before it is marked unreachable.
   */
  agentReregisterTimeoutMs: number;
  /** --registry_gc_interval (15mins), --registry_max_agent_age (2weeks), --registry_max_agent_count (102400). */
  registryGcIntervalMs: number;
  registryMaxAgentAgeMs: number;
  registryMaxAgentCount: number;
  /** --max_completed_frameworks (50) and --max_completed_tasks_per_framework (1000). */
  maxCompletedFrameworks: number;
  maxCompletedTasksPerFramework: number;
}

export const DEFAULT_CORE_CONFIG: Omit<MasterCoreConfig, 'masterInfo'> = {
  heartbeatIntervalMs: 15_000,
  allocationIntervalMs: 1_000,
  agentPingTimeoutMs: 15_000,
  maxAgentPingTimeouts: 5,
  agentReregisterTimeoutMs: 10 * 60_000,
  registryGcIntervalMs: 15 * 60_000,
  registryMaxAgentAgeMs: 14 * 24 * 3600_000,
  registryMaxAgentCount: 102_400,
  maxCompletedFrameworks: 50,
  maxCompletedTasksPerFramework: 1_000,
};

const INTERNED_MAX = 4096;

export class MasterContext {
  readonly state = new MasterState();
  readonly counters = new Map<string, number>();
  private readonly effects: Effect[] = [];

  constructor(
    readonly clock: Clock,
    readonly ids: IdSource,
    readonly allocator: Allocator,
    readonly config: MasterCoreConfig,
  ) {}

  get masterId(): string {
    return this.config.masterInfo.id;
  }

  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  sendToFramework(framework: FrameworkRecord, event: SchedulerEvent): boolean {
    if (framework.connection === undefined) return false;
    this.effects.push({ kind: 'frameworkEvent', connection: framework.connection, event });
    return true;
  }

  sendToAgent(agent: AgentRecord, event: AgentEvent): boolean {
    if (agent.connection === undefined) return false;
    this.effects.push({ kind: 'agentEvent', connection: agent.connection, event });
    return true;
  }

  emit(effect: Effect): void {
    this.effects.push(effect);
  }

  setTimer(name: TimerName, delayMs: number): void {
    this.effects.push({ kind: 'setTimer', name, atMs: this.clock.monotonicMs() + delayMs });
  }

  cancelTimer(name: TimerName): void {
    this.effects.push({ kind: 'cancelTimer', name });
  }

  /**
   * Task resources decoded once per distinct wire form: most tasks of a framework share a shape,
   * and each running task then holds one shared immutable value instead of its own copy. The
   * table is bounded; when full it starts over (unique port ranges would otherwise grow it).
   */
  internResources(wire: readonly Resource[]): Resources | { error: string } {
    const key = JSON.stringify(wire);
    const known = this.interned.get(key);
    if (known !== undefined) return known;
    const decoded = Resources.tryFromWire(wire);
    if (!('error' in decoded)) {
      if (this.interned.size >= INTERNED_MAX) this.interned.clear();
      this.interned.set(key, decoded);
    }
    return decoded;
  }

  private readonly interned = new Map<string, Resources>();

  nowSeconds(): number {
    return this.clock.realtimeMs() / 1000;
  }

  takeEffects(): Effect[] {
    return this.effects.splice(0);
  }
}
