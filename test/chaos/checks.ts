/**
 * The chaos test's verdict: pure functions of what the frameworks received (every UPDATE, in
 * arrival order, with what became of its acknowledgement) and of what the run saw at the end
 * (final reconciliation, the live agents' /state, the task processes). No I/O, no clock.
 *
 * The checks are Mesos's guarantees (facts 2.2, 5, 7.3), not what agora happens to do:
 * - TASK_LOST is the non-partition-aware catch-all and may "resurrect" to TASK_RUNNING when its
 *   agent comes back; TASK_UNREACHABLE is not terminal. Every other terminal state is definite.
 * - An update whose acknowledgement was lost (agent or master down) is re-sent with its uuid;
 *   the status update manager sends one update per task at a time, so once a later update of a
 *   task has arrived, an earlier one may never come again.
 * - Reconciliation answers, and the master's word on what a re-registering agent reported, carry
 *   no uuid and restate; they never count as new transitions (but may not revive an ended task).
 */
import { TaskState, isTerminalState } from '../../src/api/index.js';

export type TaskStateName = string;

/** One UPDATE event a framework received. */
export interface Delivery {
  /** Order of arrival across the framework's subscriptions. */
  seq: number;
  /** Milliseconds since the run started (for the report only; no check reads it). */
  atMs: number;
  state: TaskStateName;
  source?: string;
  reason?: string;
  /** The status's message, for the report (no check reads it). */
  message?: string;
  uuid?: string;
  agentId?: string;
  containerId?: string;
  /** 'accepted' once the master answered the ACKNOWLEDGE with 2xx. */
  ack?: 'accepted' | 'failed';
}

export interface TaskHistory {
  framework: string;
  taskId: string;
  partitionAware: boolean;
  deliveries: Delivery[];
}

/** What the end of the run saw for one task. */
export interface FinalObservation {
  /** The answer to the final explicit reconciliation, when one came. */
  reconciled?: { state: TaskStateName; agentId?: string; seq: number };
  /** Non-terminal entries of live agents' /state for this task: where it runs now. */
  onAgents: Array<{ agentId: string; state: TaskStateName }>;
  /** Ids of the agents that are up and registered with the leader at the end. */
  liveAgentIds: Set<string>;
  /** Pids the task's command wrote when it started (one line per start). */
  startedPids: number[];
  /** Those of startedPids still alive at the end. */
  alivePids: number[];
}

export interface Violation {
  check: CheckName;
  framework: string;
  taskId: string;
  detail: string;
}

export const CHECKS = ['one-terminal', 'final-state', 'ran-once', 'in-order', 'acks'] as const;
export type CheckName = (typeof CHECKS)[number];


/** Terminal states that can never be followed by another: all but the catch-all TASK_LOST (and UNKNOWN, an answer of ignorance). */
export function isDefiniteTerminal(state: TaskStateName): boolean {
  return isTerminal(state) && state !== 'TASK_LOST' && state !== 'TASK_UNKNOWN';
}

/** agora's terminal states, and TASK_UNKNOWN: a reconciliation answer that the task is no more. */
export function isTerminal(state: TaskStateName): boolean {
  return state === 'TASK_UNKNOWN' || (TaskState.safeParse(state).success && isTerminalState(state as TaskState));
}

/** States from which the task may come back RUNNING when its agent returns. */
function mayResurrect(state: TaskStateName): boolean {
  return state === 'TASK_LOST' || state === 'TASK_UNREACHABLE';
}

const RANK: Record<string, number> = { TASK_STAGING: 0, TASK_STARTING: 1, TASK_RUNNING: 2, TASK_KILLING: 3 };
function rank(state: TaskStateName): number {
  return RANK[state] ?? (isTerminal(state) || state === 'TASK_UNREACHABLE' ? 4 : -1);
}

export function isReconciliation(d: Delivery): boolean {
  return d.uuid === undefined && d.reason === 'REASON_RECONCILIATION';
}

/**
 * What the master says of a task without a uuid, restating another source: reconciliation
 * answers, and what an agent reported when it re-registered (Mesos's partition tests expect a
 * task that finished while its agent was unreachable to reach the framework as TASK_FINISHED
 * from the master with REASON_AGENT_REREGISTERED, then again from the agent's reliable stream).
 */
/**
 * The master's word that the task's agent was lost (TASK_LOST or TASK_UNREACHABLE,
 * REASON_AGENT_REMOVED). Mesos sends it for every task the agent still holds, including one
 * whose terminal update was forwarded but never acknowledged (the task stays on the agent until
 * it is): so it may follow an unacknowledged terminal state, which the agent then re-sends.
 */
function isPartitionNotice(d: Delivery): boolean {
  return d.source === 'SOURCE_MASTER' && d.reason === 'REASON_AGENT_REMOVED' && (d.state === 'TASK_LOST' || d.state === 'TASK_UNREACHABLE');
}

export function isRestatement(d: Delivery): boolean {
  return d.uuid === undefined && (d.reason === 'REASON_RECONCILIATION' || d.reason === 'REASON_AGENT_REREGISTERED');
}

/**
 * The transitions a task went through: deliveries minus the master's restatements and minus
 * re-deliveries of a uuid already seen (checked apart, by `acks`).
 */
export function transitions(history: TaskHistory): Delivery[] {
  const seen = new Set<string>();
  const out: Delivery[] = [];
  for (const d of history.deliveries) {
    if (isRestatement(d)) continue;
    if (d.uuid !== undefined) {
      if (seen.has(d.uuid)) continue;
      seen.add(d.uuid);
    }
    out.push(d);
  }
  return out;
}

/** The task's state as the run ends: the later of the final reconciliation's answer and its last transition. */
export function finalState(history: TaskHistory, final: FinalObservation | undefined): TaskStateName | undefined {
  const last = transitions(history).at(-1);
  const answer = final?.reconciled;
  if (answer === undefined) return last?.state;
  return last !== undefined && last.seq > answer.seq ? last.state : answer.state;
}

export function checkTask(history: TaskHistory, final: FinalObservation | undefined): Violation[] {
  const violations: Violation[] = [];
  const fail = (check: CheckName, detail: string) => violations.push({ check, framework: history.framework, taskId: history.taskId, detail });
  const moves = transitions(history);
  const show = (d: Delivery) => `${d.state}${d.source === undefined ? '' : `/${d.source.replace('SOURCE_', '')}`}#${d.seq}`;

  // one-terminal: at most one definite terminal transition.
  const definite = moves.filter((d) => isDefiniteTerminal(d.state));
  if (definite.length > 1) fail('one-terminal', `${definite.length} terminal updates: ${definite.map(show).join(', ')}`);

  // in-order: the agent's own stream goes STARTING -> RUNNING -> KILLING -> terminal, never
  // backwards. The master's TASK_LOST and TASK_UNREACHABLE come between: when the agent returns,
  // its stream goes on from where it was (Mesos re-sends what was not acknowledged, STARTING
  // included). After a definite terminal state nothing may come, and no restatement may say the
  // task is active again.
  let lastFromAgent: Delivery | undefined;
  let ended: Delivery | undefined;
  for (const d of history.deliveries) {
    if (d.uuid !== undefined && moves.indexOf(d) < 0) continue; // a re-delivery
    if (isRestatement(d)) {
      if (ended !== undefined && !isTerminal(d.state) && d.state !== 'TASK_UNREACHABLE') {
        fail('in-order', `the master said ${show(d)} (${d.reason}) after ${show(ended)}`);
      }
      continue;
    }
    if (ended !== undefined && !(ended.ack !== 'accepted' && isPartitionNotice(d))) {
      fail('in-order', `${show(d)} after the terminal ${show(ended)}`);
    } else if (d.source !== 'SOURCE_MASTER') {
      if (lastFromAgent !== undefined && rank(d.state) < rank(lastFromAgent.state)) fail('in-order', `${show(d)} after ${show(lastFromAgent)}`);
      lastFromAgent = d;
    }
    if (isDefiniteTerminal(d.state)) ended = d;
  }

  // ran-once: one start of the command, one agent and one container in every RUNNING.
  if (final !== undefined && final.startedPids.length > 1) fail('ran-once', `the command started ${final.startedPids.length} times (pids ${final.startedPids.join(', ')})`);
  const running = history.deliveries.filter((d) => d.state === 'TASK_RUNNING');
  const agents = new Set(running.map((d) => d.agentId).filter((a) => a !== undefined));
  if (final?.reconciled?.state === 'TASK_RUNNING' && final.reconciled.agentId !== undefined) agents.add(final.reconciled.agentId);
  if (agents.size > 1) fail('ran-once', `RUNNING on agents ${[...agents].join(', ')}`);
  const containers = new Set(running.map((d) => d.containerId).filter((c) => c !== undefined));
  if (containers.size > 1) fail('ran-once', `RUNNING in containers ${[...containers].join(', ')}`);
  if (final !== undefined && final.onAgents.length > 1) fail('ran-once', `active on agents ${final.onAgents.map((a) => `${a.agentId}:${a.state}`).join(', ')}`);

  // acks: a re-delivered uuid is the same update; it never comes after a later update of the task
  // (the agent had the ack by then); a new uuid never repeats a state already acknowledged.
  const firstByUuid = new Map<string, Delivery>();
  const acked: Delivery[] = [];
  for (const d of history.deliveries) {
    if (d.uuid === undefined) continue;
    const first = firstByUuid.get(d.uuid);
    if (first !== undefined) {
      if (first.state !== d.state || first.agentId !== d.agentId) fail('acks', `uuid ${d.uuid} came as ${show(first)} and again as ${show(d)}`);
      const later = moves.find((m) => m.seq > first.seq && m.seq < d.seq && m.uuid !== undefined && m.uuid !== d.uuid && m.agentId === d.agentId);
      if (later !== undefined) fail('acks', `${show(d)} re-sent after the later ${show(later)} (its ack was taken)`);
      continue;
    }
    firstByUuid.set(d.uuid, d);
    const repeated = acked.find((a) => a.state === d.state && a.agentId === d.agentId);
    const resurrectedSince = repeated !== undefined && moves.some((m) => m.seq > repeated.seq && m.seq < d.seq && mayResurrect(m.state));
    if (repeated !== undefined && !resurrectedSince) fail('acks', `${show(d)} with a new uuid repeats the acknowledged ${show(repeated)}`);
    if (d.ack === 'accepted') acked.push(d);
  }

  // final-state: ended exactly once, or running now on a live agent that lists it.
  if (final !== undefined) {
    const state = finalState(history, final);
    if (state === undefined) {
      fail('final-state', 'no update and no reconciliation answer');
    } else if (isTerminal(state)) {
      if (final.alivePids.length > 0) fail('final-state', `ended ${state} but its process ${final.alivePids.join(', ')} still runs`);
      if (final.onAgents.length > 0) fail('final-state', `ended ${state} but agent ${final.onAgents.map((a) => `${a.agentId} has it ${a.state}`).join(', ')}`);
    } else if (state === 'TASK_RUNNING') {
      const agentId = [final.reconciled, moves.at(-1)].filter((d) => d !== undefined).sort((a, b) => b.seq - a.seq)[0]?.agentId;
      if (agentId === undefined || !final.liveAgentIds.has(agentId)) fail('final-state', `RUNNING on agent ${agentId ?? '?'}, which is not live`);
      if (!final.onAgents.some((a) => a.agentId === agentId && a.state === 'TASK_RUNNING')) {
        fail('final-state', `RUNNING on ${agentId ?? '?'} but that agent's /state does not list it running (it lists ${JSON.stringify(final.onAgents)})`);
      }
      if (final.startedPids.length > 0 && final.alivePids.length === 0) fail('final-state', `RUNNING but its process ${final.startedPids.join(', ')} is dead`);
    } else {
      fail('final-state', `left in ${state}: neither ended nor running`);
    }
  }
  return violations;
}

export interface Verdict {
  violations: Violation[];
  /** Per check: tasks checked and tasks that failed it. */
  perCheck: Record<CheckName, { checked: number; failed: number }>;
}

export function checkAll(histories: TaskHistory[], finals: Map<string, FinalObservation>): Verdict {
  const perCheck = Object.fromEntries(CHECKS.map((c) => [c, { checked: 0, failed: 0 }])) as Verdict['perCheck'];
  const violations: Violation[] = [];
  for (const history of histories) {
    const found = checkTask(history, finals.get(taskKey(history.framework, history.taskId)));
    violations.push(...found);
    for (const check of CHECKS) {
      perCheck[check].checked++;
      if (found.some((v) => v.check === check)) perCheck[check].failed++;
    }
  }
  return { violations, perCheck };
}

export function taskKey(framework: string, taskId: string): string {
  return `${framework}/${taskId}`;
}
