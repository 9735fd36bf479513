/**
 * What the master's registry holds, and the operations that change it (facts 9): admitted,
 * unreachable and gone agents, weights, quota and the maintenance schedule. Pure: the file and
 * etcd implementations store what these functions compute.
 */
import { z } from 'zod';
import { AgentInfo, QuotaConfig, WeightInfo } from '../../api/index.js';

export const REGISTRY_VERSION = 1;

/** TimeInfo; a plain number, as nanoseconds since the epoch exceed 2^53 (ms precision is kept). */
const Timestamp = z.object({ nanoseconds: z.number() });
export type Timestamp = z.infer<typeof Timestamp>;

/** An admitted agent (Mesos's `Registry.Slave`): after a master restart it is "recovered" until it re-registers. */
export const AdmittedAgent = z.object({
  info: AgentInfo.extend({ id: z.object({ value: z.string().min(1) }) }),
  /** Where it listens: an agent restarted without its state comes back from here with a new id. */
  endpoint: z.object({ ip: z.string(), port: z.number().int() }).optional(),
});
export type AdmittedAgent = z.infer<typeof AdmittedAgent>;

/** An unreachable or gone agent: its id and since when (`Registry.UnreachableSlave`, `Registry.GoneSlave`). */
export const AgentTombstone = z.object({ id: z.object({ value: z.string().min(1) }), timestamp: Timestamp });
export type AgentTombstone = z.infer<typeof AgentTombstone>;

/** `maintenance.Schedule`: stored and given back; nothing acts on it yet. */
export const MaintenanceSchedule = z.object({
  windows: z
    .array(
      z.object({
        machine_ids: z.array(z.object({ hostname: z.string().optional(), ip: z.string().optional() })),
        unavailability: z.object({ start: Timestamp, duration: z.object({ nanoseconds: z.number() }).optional() }),
      }),
    )
    .optional(),
});
export type MaintenanceSchedule = z.infer<typeof MaintenanceSchedule>;

/**
 * The registry as it is stored (JSON, Mesos's field names, "agents" for "slaves"). Sections added
 * after the first release are optional, so an older file still loads. Unknown fields are dropped.
 */
export const RegistryState = z.object({
  version: z.literal(REGISTRY_VERSION),
  weights: z.array(WeightInfo),
  quota_configs: z.array(QuotaConfig),
  agents: z.array(AdmittedAgent).default([]),
  unreachable: z.array(AgentTombstone).default([]),
  gone: z.array(AgentTombstone).default([]),
  /** Mesos keeps a list; there is at most one schedule. */
  schedules: z.array(MaintenanceSchedule).default([]),
});
export type RegistryState = z.infer<typeof RegistryState>;

/** One change, applied atomically: the runtime waits for it to be stored before answering. */
export type RegistryOperation =
  /** Sets the weights of these roles; other roles keep theirs. */
  | { type: 'UPDATE_WEIGHTS'; weight_infos: WeightInfo[] }
  /** Sets the quota of these roles; a config with no guarantees and no limits removes the role's quota. */
  | { type: 'UPDATE_QUOTA'; quota_configs: QuotaConfig[] }
  /** An agent registers, comes back from unreachable, or re-registers with other info: it is admitted. */
  | { type: 'ADMIT_AGENT'; agent: AdmittedAgent }
  /** An admitted agent missed its pings or did not re-register in time. */
  | { type: 'MARK_AGENT_UNREACHABLE'; agent_id: { value: string }; timestamp: Timestamp }
  /** An operator said the agent is gone for good (MARK_AGENT_GONE): it may never come back with this id. */
  | { type: 'MARK_AGENT_GONE'; agent_id: { value: string }; timestamp: Timestamp }
  /** An agent left (unsubscribed, or came back as a new agent): forgotten, as if never admitted. */
  | { type: 'REMOVE_AGENT'; agent_id: { value: string } }
  /** Registry GC: forgets these unreachable and gone agents. */
  | { type: 'PRUNE_AGENTS'; unreachable: string[]; gone: string[] }
  /** Replaces the maintenance schedule; an empty one (no windows) removes it. */
  | { type: 'UPDATE_MAINTENANCE_SCHEDULE'; schedule: MaintenanceSchedule };

export function emptyRegistry(): RegistryState {
  return { version: REGISTRY_VERSION, weights: [], quota_configs: [], agents: [], unreachable: [], gone: [], schedules: [] };
}

export function isDefaultQuota(config: QuotaConfig): boolean {
  return Object.keys(config.guarantees ?? {}).length === 0 && Object.keys(config.limits ?? {}).length === 0;
}

export function isEmptySchedule(schedule: MaintenanceSchedule): boolean {
  return (schedule.windows ?? []).length === 0;
}

/**
 * The registry in memory, keyed for O(1) operations (a cluster admits up to
 * --registry_max_agent_count agents, so operations must not copy whole lists). `toState()` gives
 * the stored form, every list sorted so that files diff well.
 */
export class RegistryModel {
  readonly weights = new Map<string, WeightInfo>();
  readonly quotaConfigs = new Map<string, QuotaConfig>();
  readonly agents = new Map<string, AdmittedAgent>();
  readonly unreachable = new Map<string, AgentTombstone>();
  readonly gone = new Map<string, AgentTombstone>();
  schedule: MaintenanceSchedule | undefined;

  static from(state: RegistryState): RegistryModel {
    const model = new RegistryModel();
    for (const w of state.weights) model.weights.set(w.role, w);
    for (const c of state.quota_configs) model.quotaConfigs.set(c.role, c);
    for (const a of state.agents) model.agents.set(a.info.id.value, a);
    for (const t of state.unreachable) model.unreachable.set(t.id.value, t);
    for (const t of state.gone) model.gone.set(t.id.value, t);
    model.schedule = state.schedules[0];
    return model;
  }

  apply(operation: RegistryOperation): this {
    switch (operation.type) {
      case 'UPDATE_WEIGHTS':
        for (const w of operation.weight_infos) this.weights.set(w.role, { role: w.role, weight: w.weight });
        return this;
      case 'UPDATE_QUOTA':
        for (const c of operation.quota_configs) {
          if (isDefaultQuota(c)) this.quotaConfigs.delete(c.role);
          else this.quotaConfigs.set(c.role, c);
        }
        return this;
      case 'ADMIT_AGENT': {
        const id = operation.agent.info.id.value;
        this.agents.set(id, operation.agent);
        this.unreachable.delete(id);
        return this;
      }
      case 'MARK_AGENT_UNREACHABLE': {
        const id = operation.agent_id.value;
        this.agents.delete(id);
        this.unreachable.set(id, { id: { value: id }, timestamp: operation.timestamp });
        return this;
      }
      case 'MARK_AGENT_GONE': {
        const id = operation.agent_id.value;
        this.agents.delete(id);
        this.unreachable.delete(id);
        this.gone.set(id, { id: { value: id }, timestamp: operation.timestamp });
        return this;
      }
      case 'REMOVE_AGENT':
        this.agents.delete(operation.agent_id.value);
        return this;
      case 'PRUNE_AGENTS':
        for (const id of operation.unreachable) this.unreachable.delete(id);
        for (const id of operation.gone) this.gone.delete(id);
        return this;
      case 'UPDATE_MAINTENANCE_SCHEDULE':
        this.schedule = isEmptySchedule(operation.schedule) ? undefined : operation.schedule;
        return this;
    }
  }

  toState(): RegistryState {
    return {
      version: REGISTRY_VERSION,
      weights: sortedValues(this.weights),
      quota_configs: sortedValues(this.quotaConfigs),
      agents: sortedValues(this.agents),
      unreachable: sortedValues(this.unreachable),
      gone: sortedValues(this.gone),
      schedules: this.schedule === undefined ? [] : [this.schedule],
    };
  }
}

/** The registry after `operation`, as a new value. */
export function applyRegistryOperation(state: RegistryState, operation: RegistryOperation): RegistryState {
  return RegistryModel.from(state).apply(operation).toState();
}

function sortedValues<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.keys()].sort().map((key) => map.get(key)!);
}
