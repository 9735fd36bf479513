/**
 * The master's in-memory view of the cluster: frameworks, agents, offers and tasks. Plain
 * records mutated only by the core's handlers; the HTTP shell reads them through views.ts.
 */
import type { AgentInfo, Attribute, FrameworkInfo, QuotaConfig, TaskInfo, TaskState, TaskStatus } from '../../api/index.js';
import type { Resources } from '../../resources/index.js';
import { ExecutorBook } from './executors.js';

/** An opaque handle the shell gives each open event stream (scheduler or agent). */
export type ConnectionId = string;

export interface FrameworkRecord {
  id: string;
  info: FrameworkInfo;
  roles: string[];
  /** The open subscription stream, absent while the framework is disconnected. */
  connection?: ConnectionId;
  streamId?: string;
  registeredTimeMs: number;
  reregisteredTimeMs?: number;
  unregisteredTimeMs?: number;
  /** Active tasks by task id (non-terminal, or terminal but not yet acknowledged). */
  tasks: Map<string, TaskRecord>;
  completedTasks: TaskRecord[];
  /**
   * Tasks on agents that became unreachable, reported TASK_UNREACHABLE (or TASK_LOST to frameworks
   * that are not partition-aware); they come back if their agent re-registers with them.
   */
  unreachableTasks: Map<string, TaskRecord>;
  offers: Set<string>;
}

export interface AgentRecord {
  id: string;
  info: AgentInfo;
  hostname: string;
  endpoint: { ip: string; port: number };
  attributes: Attribute[];
  version: string;
  total: Resources;
  connection?: ConnectionId;
  streamId?: string;
  registeredTimeMs: number;
  reregisteredTimeMs?: number;
  /** Pings sent since the last pong. */
  missedPings: number;
  /** Tasks on this agent, by framework id then task id. */
  tasks: Map<string, Map<string, TaskRecord>>;
  offers: Set<string>;
}

export interface UnreachableAgent {
  id: string;
  /** Empty for agents known only from the registry, which keeps ids and times. */
  hostname: string;
  sinceMs: number;
}

/** An agent admitted before the master (re)started, not re-registered yet (Mesos's "recovered" agents). */
export interface RecoveredAgent {
  id: string;
  info: AgentInfo;
  endpoint?: { ip: string; port: number };
}

/** The part of a status the master keeps per task for /state and reconciliation. */
export type StatusRecord = Pick<TaskStatus, 'state' | 'timestamp' | 'healthy' | 'labels' | 'container_status' | 'unreachable_time'>;

export interface TaskRecord {
  /** As launched, without `resources`: those are kept once, in `resources`. */
  info: Omit<TaskInfo, 'resources'>;
  frameworkId: string;
  agentId: string;
  role: string;
  resources: Resources;
  /** The newest state the agent knows. */
  state: TaskState;
  /** The state of the newest update forwarded to the framework, and its uuid. */
  statusUpdateState?: TaskState;
  statusUpdateUuid?: string;
  statuses: StatusRecord[];
  /** Set once the terminal state was reached, so resources are recovered exactly once. */
  resourcesRecovered: boolean;
}

export interface OfferRecord {
  id: string;
  frameworkId: string;
  agentId: string;
  role: string;
  /** With allocation_info set to `role`. */
  resources: Resources;
  createdMs: number;
}

export interface CompletedFramework {
  record: FrameworkRecord;
  removedTimeMs: number;
}

export class MasterState {
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly completedFrameworks: CompletedFramework[] = [];
  readonly agents = new Map<string, AgentRecord>();
  readonly unreachableAgents = new Map<string, UnreachableAgent>();
  readonly goneAgents = new Map<string, { id: string; sinceMs: number }>();
  /** Agents known from the registry after a master restart that have not re-registered yet. */
  readonly recoveredAgents = new Map<string, RecoveredAgent>();
  /**
   * --agent_removal_rate_limit: agents that failed their pings and wait for a removal permit, and
   * when (monotonic) the next permit is free.
   */
  readonly unreachableScheduled = new Set<string>();
  nextRemovalPermitMs = 0;
  readonly offers = new Map<string, OfferRecord>();
  /** Custom and default executors per agent and framework (executors.ts). */
  readonly executors = new ExecutorBook();
  readonly frameworkByConnection = new Map<ConnectionId, string>();
  readonly agentByConnection = new Map<ConnectionId, string>();
  /** Agents whose resources changed since the last pass; `all` after framework-side changes. */
  readonly promptAllocation = { all: false, agents: new Set<string>(), armed: false };
  /** From the registry: role weights (absent = 1) and quota configs by top-level role. */
  readonly weights = new Map<string, number>();
  readonly quotaConfigs = new Map<string, QuotaConfig>();
  nextFrameworkNumber = 0;
  nextAgentNumber = 0;
  nextOfferNumber = 0;

  isRemovedFramework(id: string): boolean {
    return this.completedFrameworks.some((f) => f.record.id === id);
  }
}

/**
 * Unlinks a closed stream from the framework or agent it served. Returns that record, or
 * undefined when the stream was already replaced (a newer subscription owns the record).
 */
export function releaseConnection<R extends { connection?: ConnectionId; streamId?: string }>(
  byConnection: Map<ConnectionId, string>,
  records: ReadonlyMap<string, R>,
  connection: ConnectionId,
): R | undefined {
  const id = byConnection.get(connection);
  byConnection.delete(connection);
  const record = id === undefined ? undefined : records.get(id);
  if (record === undefined || record.connection !== connection) return undefined;
  record.connection = undefined;
  record.streamId = undefined;
  return record;
}
