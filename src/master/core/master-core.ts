/**
 * The master's deterministic core. Each method applies one input (a call, a closed stream, a
 * timer) to the state and queues effects; the shell drains them with takeEffects() and carries
 * them out in order. No I/O, no awaits, no ambient time: the same core runs under HTTP, in unit
 * tests with a ManualClock, and in the simulator.
 */
import { AgoraError, assert } from '../../base/index.js';
import type { Clock, IdSource } from '../../base/index.js';
import type { AgentCall, AgentSubscribe, MasterCall, SchedulerCall } from '../../api/index.js';
import type { Allocator } from '../../allocator/index.js';
import { Resources } from '../../resources/index.js';
import { agentDisconnected, subscribeAgent } from './agents.js';
import { onPingTimer, onPong, onRemovalPermitTimer, onReregisterTimer, removeAgent } from './partitions.js';
import { BATCH_ALLOCATION_TIMER, PROMPT_ALLOCATION_TIMER, runBatchAllocation, runPromptAllocation } from './allocation.js';
import { MasterContext } from './context.js';
import type { MasterCoreConfig } from './context.js';
import type { Effect } from './effects.js';
import { frameworkDisconnected, onFailoverTimer, onHeartbeatTimer, subscribeFramework } from './frameworks.js';
import type { SubscribeOutcome } from './frameworks.js';
import { type OperatorReply, handleOperatorCall } from './operator-calls.js';
import { recoverRegistry } from './quota.js';
import { RECOVERED_AGENTS_TIMER, REGISTRY_GC_TIMER, armRecoveryTimers, onRecoveredAgentsTimer, onRegistryGcTimer, recoverAgents } from './recovery.js';
import { rolesJson } from './roles.js';
import type { RegistryState } from '../registry/state.js';
import { handleSchedulerCall, isKnownCallType, unknownTypeError } from './scheduler-calls.js';
import type { CallReply } from './scheduler-calls.js';
import type { ConnectionId, MasterState } from './state.js';
import { onAgentStatusUpdate } from './status-updates.js';
import { executorMessage, onExecutorExited } from './executors.js';

export interface MasterCoreDeps {
  clock: Clock;
  ids: IdSource;
  allocator: Allocator;
  config: MasterCoreConfig;
  /** Check invariants after every input (tests and the simulator; costs O(agents)). */
  checkInvariants?: boolean;
}

export class MasterCore {
  private readonly ctx: MasterContext;
  private readonly checking: boolean;

  constructor(deps: MasterCoreDeps) {
    this.ctx = new MasterContext(deps.clock, deps.ids, deps.allocator, deps.config);
    this.checking = deps.checkInvariants ?? false;
  }

  get state(): MasterState {
    return this.ctx.state;
  }

  get counters(): ReadonlyMap<string, number> {
    return this.ctx.counters;
  }

  get config(): MasterCoreConfig {
    return this.ctx.config;
  }

  get allocator(): Allocator {
    return this.ctx.allocator;
  }

  /**
   * Takes the registry: weights and quota, admitted agents (as recovered agents that must
   * re-register), unreachable and gone agents. Call once, before start().
   */
  recover(registry: RegistryState): void {
    this.apply(() => {
      recoverRegistry(this.ctx, registry);
      recoverAgents(this.ctx, registry);
    });
  }

  /** Arms the allocation, recovery and registry GC timers. Call once when the master starts leading. */
  start(): void {
    this.ctx.setTimer(BATCH_ALLOCATION_TIMER, this.ctx.config.allocationIntervalMs);
    armRecoveryTimers(this.ctx);
  }

  /** SUBSCRIBE on a new scheduler connection: the stream id to answer with, or the 400. */
  subscribeFramework(connection: ConnectionId, call: SchedulerCall, streamIdHeader: string | undefined): SubscribeOutcome | AgoraError {
    if (streamIdHeader !== undefined) {
      return new AgoraError('AGORA_ERR_STREAM_ID', "Expecting no 'Mesos-Stream-Id' header on a SUBSCRIBE call");
    }
    return this.apply(() => subscribeFramework(this.ctx, connection, call));
  }

  schedulerCall(call: SchedulerCall, streamIdHeader: string | undefined): CallReply {
    if (!isKnownCallType(call.type)) return unknownTypeError(call.type);
    return this.apply(() => handleSchedulerCall(this.ctx, call, streamIdHeader));
  }

  /**
   * A v1 Operator API call on the core's state (operator-calls.ts). A change that must persist
   * comes with a `persist` effect: the shell answers only once it is stored.
   */
  operatorCall(call: MasterCall): OperatorReply {
    return this.apply(() => handleOperatorCall(this.ctx, call));
  }

  /** `/roles`: every known role with its weight, quota, and what its subtree holds. */
  rolesJson(): { roles: Record<string, unknown>[] } {
    return rolesJson(this.ctx);
  }

  frameworkDisconnected(connection: ConnectionId): void {
    this.apply(() => frameworkDisconnected(this.ctx, connection));
  }

  subscribeAgent(connection: ConnectionId, subscribe: AgentSubscribe): { streamId: string } | AgoraError {
    return this.apply(() => subscribeAgent(this.ctx, connection, subscribe));
  }

  /** Every agent call but SUBSCRIBE. */
  agentCall(call: Exclude<AgentCall, { type: 'SUBSCRIBE' }>, streamIdHeader: string | undefined): AgoraError | undefined {
    const agent = this.ctx.state.agents.get(call.agent_id.value);
    if (agent === undefined) return new AgoraError('AGORA_ERR_VALIDATION', 'Agent is not registered; subscribe again');
    if (agent.connection === undefined) return new AgoraError('AGORA_ERR_NOT_SUBSCRIBED', 'Agent is not subscribed');
    if (agent.streamId !== streamIdHeader) return new AgoraError('AGORA_ERR_STREAM_ID', "'Mesos-Stream-Id' does not match the agent's stream");
    return this.apply(() => {
      switch (call.type) {
        case 'STATUS_UPDATE':
          onAgentStatusUpdate(this.ctx, agent, call.status_update);
          break;
        case 'PONG':
          onPong(agent);
          break;
        case 'EXECUTOR_MESSAGE':
          executorMessage(this.ctx, agent, call.executor_message);
          break;
        case 'EXECUTOR_EXITED':
          onExecutorExited(this.ctx, agent, call.executor_exited);
          break;
        case 'UNSUBSCRIBE':
          removeAgent(this.ctx, agent, 'TASK_GONE', 'REASON_AGENT_REMOVED', `Agent ${agent.id} unregistered`);
          break;
      }
      return undefined;
    });
  }

  agentDisconnected(connection: ConnectionId): void {
    this.apply(() => agentDisconnected(this.ctx, connection));
  }

  /** A timer the core asked for (setTimer) is due. Unknown or stale names are ignored. */
  timerFired(name: string): void {
    this.apply(() => {
      if (name === BATCH_ALLOCATION_TIMER) return runBatchAllocation(this.ctx);
      if (name === PROMPT_ALLOCATION_TIMER) return runPromptAllocation(this.ctx);
      if (name === RECOVERED_AGENTS_TIMER) return onRecoveredAgentsTimer(this.ctx);
      if (name === REGISTRY_GC_TIMER) return onRegistryGcTimer(this.ctx);
      const [kind, id] = splitTimer(name);
      if (kind === 'heartbeat') onHeartbeatTimer(this.ctx, id);
      else if (kind === 'failover') onFailoverTimer(this.ctx, id);
      else if (kind === 'ping') onPingTimer(this.ctx, id);
      else if (kind === 'removal-permit') onRemovalPermitTimer(this.ctx, id);
      else if (kind === 'reregister') onReregisterTimer(this.ctx, id);
    });
  }

  takeEffects(): Effect[] {
    return this.ctx.takeEffects();
  }

  private apply<T>(handler: () => T): T {
    const result = handler();
    if (this.checking) this.checkInvariants();
    return result;
  }

  // Invariants:
  // 1. Offered plus used resources on an agent never exceed its total.
  // 2. Every outstanding offer is listed by its framework and its agent.
  // 3. Every active task is listed by its agent under its framework.
  private checkInvariants(): void {
    const { state } = this.ctx;
    for (const agent of state.agents.values()) {
      let claimed = Resources.empty();
      for (const offerId of agent.offers) claimed = claimed.add(state.offers.get(offerId)!.resources.unallocated());
      for (const tasks of agent.tasks.values()) {
        for (const task of tasks.values()) if (!task.resourcesRecovered) claimed = claimed.add(task.resources.unallocated());
      }
      for (const executor of state.executors.onAgent(agent.id)) claimed = claimed.add(executor.resources.unallocated());
      assert(agent.total.unallocated().contains(claimed), `agent ${agent.id}: offered+used ${claimed} exceeds total ${agent.total}`);
    }
    for (const offer of state.offers.values()) {
      assert(state.frameworks.get(offer.frameworkId)?.offers.has(offer.id) === true, `offer ${offer.id} not on its framework`);
      assert(state.agents.get(offer.agentId)?.offers.has(offer.id) === true, `offer ${offer.id} not on its agent`);
    }
    for (const framework of state.frameworks.values()) {
      for (const [taskId, task] of framework.tasks) {
        const agent = state.agents.get(task.agentId);
        if (agent !== undefined) {
          assert(agent.tasks.get(framework.id)?.get(taskId) === task, `task ${taskId} missing from agent ${agent.id}`);
        }
      }
    }
  }
}

function splitTimer(name: string): [string, string] {
  const colon = name.indexOf(':');
  return colon === -1 ? [name, ''] : [name.slice(0, colon), name.slice(colon + 1)];
}
