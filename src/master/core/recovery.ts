/**
 * The agents side of a master's recovery from its registry (facts 9): admitted agents become
 * "recovered" and must re-register within --agent_reregister_timeout or be marked unreachable;
 * unreachable and gone agents are remembered; registry GC forgets the oldest of those.
 */
import { agentsToPrune } from '../registry/gc.js';
import type { RegistryState } from '../registry/state.js';
import type { MasterContext } from './context.js';

export const RECOVERED_AGENTS_TIMER = 'recovered-agents';
export const REGISTRY_GC_TIMER = 'registry-gc';

const NANOS_PER_MS = 1e6;

export function recoverAgents(ctx: MasterContext, registry: RegistryState): void {
  const { state } = ctx;
  for (const { info, endpoint } of registry.agents) {
    const id = info.id.value;
    state.recoveredAgents.set(id, { id, info, ...(endpoint === undefined ? {} : { endpoint }) });
  }
  for (const { id, timestamp } of registry.unreachable) {
    state.unreachableAgents.set(id.value, { id: id.value, hostname: '', sinceMs: Math.round(timestamp.nanoseconds / NANOS_PER_MS) });
  }
  for (const { id, timestamp } of registry.gone) {
    state.goneAgents.set(id.value, { id: id.value, sinceMs: Math.round(timestamp.nanoseconds / NANOS_PER_MS) });
  }
}

/** Called when the master starts leading: the recovered agents' deadline and the GC period. */
export function armRecoveryTimers(ctx: MasterContext): void {
  if (ctx.state.recoveredAgents.size > 0) ctx.setTimer(RECOVERED_AGENTS_TIMER, ctx.config.agentReregisterTimeoutMs);
  ctx.setTimer(REGISTRY_GC_TIMER, ctx.config.registryGcIntervalMs);
}

/** Recovered agents that did not come back in time are unreachable (Mesos: no removal limit by default). */
export function onRecoveredAgentsTimer(ctx: MasterContext): void {
  const nowMs = ctx.clock.realtimeMs();
  for (const recovered of ctx.state.recoveredAgents.values()) {
    ctx.emit({ kind: 'persist', operation: { type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: recovered.id }, timestamp: { nanoseconds: nowMs * NANOS_PER_MS } } });
    ctx.state.unreachableAgents.set(recovered.id, { id: recovered.id, hostname: recovered.info.hostname, sinceMs: nowMs });
    ctx.count('master/slave_unreachable_completed');
  }
  ctx.state.recoveredAgents.clear();
}

/** Forgets unreachable and gone agents past --registry_max_agent_age or --registry_max_agent_count. */
export function onRegistryGcTimer(ctx: MasterContext): void {
  const { state, config } = ctx;
  const policy = { maxAgentAgeMs: config.registryMaxAgentAgeMs, maxAgentCount: config.registryMaxAgentCount };
  const nowMs = ctx.clock.realtimeMs();
  const unreachable = agentsToPrune(state.unreachableAgents.values(), nowMs, policy);
  const gone = agentsToPrune(state.goneAgents.values(), nowMs, policy);
  if (unreachable.length > 0 || gone.length > 0) {
    for (const id of unreachable) state.unreachableAgents.delete(id);
    for (const id of gone) state.goneAgents.delete(id);
    ctx.emit({ kind: 'persist', operation: { type: 'PRUNE_AGENTS', unreachable, gone } });
    ctx.count('master/registry_gc_pruned', unreachable.length + gone.length);
  }
  ctx.setTimer(REGISTRY_GC_TIMER, config.registryGcIntervalMs);
}
