/**
 * The end of a chaos run: what the frameworks learn from a final explicit reconciliation, what
 * the live agents' /state lists, and which task processes are alive, as ./checks.ts takes it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getJson, isAlive } from '../support/cluster.js';
import { type FinalObservation, type TaskHistory, finalState, isTerminal, taskKey } from './checks.js';
import type { ChaosCluster } from './cluster.js';
import type { ChaosFramework } from './framework.js';

interface AgentState {
  id?: string;
  frameworks: Array<{ id: string; executors: Array<{ tasks: Array<{ id: string; state: string }> }> }>;
}

export interface Observation {
  finals: Map<string, FinalObservation>;
  /** Tasks whose final reconciliation got no answer. */
  unanswered: string[];
}

/** Reconciles every task not definitely ended, then reads the agents and the task processes. */
export async function observe(cluster: ChaosCluster, frameworks: ChaosFramework[], reconcileTimeoutMs: number): Promise<Observation> {
  const unanswered = (await Promise.all(frameworks.map(async (f) => (await f.reconcileAll(reconcileTimeoutMs)).map((id) => `${f.name}/${id}`)))).flat();
  const liveAgentIds = new Set((await Promise.all(cluster.agents.map((a) => cluster.agentId(a)))).filter((id) => id !== undefined));
  const onAgents = new Map<string, Array<{ agentId: string; state: string }>>();
  const nameOf = new Map(frameworks.map((f) => [f.id, f.name]));
  for (const agent of cluster.agents) {
    if (agent.daemon === undefined) continue;
    const state = await getJson<AgentState>(`${agent.daemon.url}/state`);
    for (const fw of state.frameworks) {
      for (const executor of fw.executors) {
        for (const task of executor.tasks) {
          if (isTerminal(task.state)) continue;
          const key = taskKey(nameOf.get(fw.id) ?? fw.id, task.id);
          onAgents.set(key, [...(onAgents.get(key) ?? []), { agentId: state.id ?? '?', state: task.state }]);
        }
      }
    }
  }
  const finals = new Map<string, FinalObservation>();
  for (const f of frameworks) {
    for (const t of f.tasks.values()) {
      const startedPids = markerPidsOf(join(cluster.markerDir, `${f.name}__${t.taskId}`));
      const reconciled = f.lastReconciliation(t.taskId);
      finals.set(taskKey(t.framework, t.taskId), {
        ...(reconciled === undefined
          ? {}
          : { reconciled: { state: reconciled.state, seq: reconciled.seq, ...(reconciled.agentId === undefined ? {} : { agentId: reconciled.agentId }) } }),
        onAgents: onAgents.get(taskKey(t.framework, t.taskId)) ?? [],
        liveAgentIds,
        startedPids,
        alivePids: startedPids.filter(isAlive),
      });
    }
  }
  return { finals, unanswered };
}

/** Pids still alive of tasks whose final state is terminal (their kill may be under way). */
export function endedButAlive(histories: TaskHistory[], finals: Map<string, FinalObservation>): number[] {
  return histories.flatMap((t) => {
    const final = finals.get(taskKey(t.framework, t.taskId));
    const state = finalState(t, final);
    return final !== undefined && state !== undefined && isTerminal(state) ? final.startedPids.filter(isAlive) : [];
  });
}

export function markerPidsOf(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}
