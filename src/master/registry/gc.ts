/**
 * Registry GC (facts 9): which unreachable or gone agents to forget. Pure; the master core runs
 * it every --registry_gc_interval on its own view and persists the result as PRUNE_AGENTS.
 */

export interface RegistryGcPolicy {
  /** --registry_max_agent_age (2weeks): entries older than this go. */
  maxAgentAgeMs: number;
  /** --registry_max_agent_count (102400): beyond this many, the oldest go. */
  maxAgentCount: number;
}

export const DEFAULT_REGISTRY_GC_POLICY: RegistryGcPolicy = {
  maxAgentAgeMs: 14 * 24 * 3600 * 1000,
  maxAgentCount: 102_400,
};

/**
 * The ids to prune from one list (unreachable, or gone; Mesos applies the limits to each list
 * on its own): everything older than the maximum age, then the oldest until at most the maximum
 * count are left. Ties in age go by id, so the answer does not depend on map order.
 */
export function agentsToPrune(
  entries: Iterable<{ id: string; sinceMs: number }>,
  nowMs: number,
  policy: RegistryGcPolicy,
): string[] {
  const byAge = [...entries].sort((a, b) => a.sinceMs - b.sinceMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const pruned: string[] = [];
  let kept = byAge.length;
  for (const entry of byAge) {
    const tooOld = nowMs - entry.sinceMs > policy.maxAgentAgeMs;
    if (!tooOld && kept <= policy.maxAgentCount) break;
    pruned.push(entry.id);
    kept--;
  }
  return pruned;
}
