/**
 * Violations of bugs the chaos test found and reported but that are not fixed yet, told apart
 * from the rest by what exactly happened, so every other violation still fails the run. Remove
 * an entry once its bug is fixed; the check itself (./checks.ts) is never relaxed.
 */
import type { Delivery, TaskHistory, Violation } from './checks.js';

export interface AgentKill {
  agent: string;
  agentId?: string;
  atMs: number;
}

/**
 * How soon after a task's last word from its agent a kill of that agent counts as "during the
 * launch": the pid that lets a restarted agent find the container is recorded only after the
 * launch returned, which takes up to about half a second under load on 2 cores.
 */
const LAUNCH_WINDOW_MS = 1_500;

/**
 * KNOWN (found by the chaos test: CHAOS_SECONDS=60 CHAOS_SEED=11 twice on ebbe4a9, before agent
 * recovery, and CHAOS_SECONDS=90 CHAOS_SEED=21 CHAOS_MASTERS=3 CHAOS_AGENTS=4 CHAOS_FRAMEWORKS=6
 * on b5ebe9f, with it; six tasks): an agent `kill -9`'d within about half a second of reporting a
 * task STARTING or RUNNING leaves the task's process running for ever, while the master reports
 * it TASK_LOST, TASK_GONE or (reconciliation) TASK_UNKNOWN. The posix launcher records the
 * supervisor's pid (recordSupervisorPid) asynchronously after spawn, and the runtime its
 * pids/forked.pid after the launch returned; a restarted agent that finds a supervisor directory
 * without a pid takes the container as gone and removes the directory without killing anything
 * (recoverSupervised, cleanupSupervisedOrphans). Killed 3 s after RUNNING, the same task was
 * cleaned up (checked by hand before agent recovery). Mesos closes this window by checkpointing the forked pid before the child may exec;
 * here the supervisor could write its own pid (`echo $$ >"$d/pid" || exit`, a builtin) before it
 * runs the task, and so never run it once a cleanup removed its directory.
 * A violation is this one only when the task's process outlived an ended state and its agent was
 * killed within LAUNCH_WINDOW_MS of the task's last update from that agent before the kill.
 */
function orphanedByKillDuringLaunch(v: Violation, history: TaskHistory | undefined, kills: AgentKill[]): boolean {
  if (history === undefined || v.check !== 'final-state' || !/^ended \S+ but its process .* still runs$/.test(v.detail)) return false;
  const fromAgent = history.deliveries.filter((d: Delivery) => d.source !== 'SOURCE_MASTER' && d.agentId !== undefined);
  // The agent's last word before it was killed (a recovered agent may speak again afterwards).
  return kills.some((k) => {
    const before = fromAgent.filter((d) => d.agentId === k.agentId && d.atMs <= k.atMs).at(-1);
    return before !== undefined && k.atMs - before.atMs <= LAUNCH_WINDOW_MS;
  });
}

export function splitKnown(
  violations: Violation[],
  histories: TaskHistory[],
  kills: AgentKill[],
): { known: Array<Violation & { reason: string }>; violations: Violation[] } {
  const byKey = new Map(histories.map((h) => [`${h.framework}/${h.taskId}`, h]));
  const known: Array<Violation & { reason: string }> = [];
  const rest: Violation[] = [];
  for (const v of violations) {
    if (orphanedByKillDuringLaunch(v, byKey.get(`${v.framework}/${v.taskId}`), kills)) {
      known.push({ ...v, reason: 'known bug: agent killed while launching it, pid not checkpointed yet (test/chaos/known-issues.ts)' });
    } else {
      rest.push(v);
    }
  }
  return { known, violations: rest };
}
