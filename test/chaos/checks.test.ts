/**
 * The chaos checks on hand-made histories: each guarantee passes what Mesos allows (re-sent
 * unacknowledged updates, TASK_LOST and TASK_UNREACHABLE coming back RUNNING, reconciliation
 * restating) and catches what it forbids.
 */
import { describe, expect, it } from 'vitest';
import { type Delivery, type FinalObservation, type TaskHistory, checkTask } from './checks.js';
import { splitKnown } from './known-issues.js';

const A = 'agent-A';
const B = 'agent-B';

function history(deliveries: Array<Partial<Delivery> & { state: string }>, partitionAware = true): TaskHistory {
  return {
    framework: 'fw',
    taskId: 't1',
    partitionAware,
    deliveries: deliveries.map((d, seq) => ({ seq, atMs: seq, agentId: A, source: 'SOURCE_EXECUTOR', ...d })),
  };
}

const up = (state: string, uuid: string, extra: Partial<Delivery> = {}) => ({ state, uuid, ack: 'accepted' as const, ...extra });
const master = (state: string, reason = 'REASON_AGENT_REMOVED') => ({ state, source: 'SOURCE_MASTER', reason });
const answer = (state: string, agentId = A) => ({ state, source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION', agentId });

function ended(extra: Partial<FinalObservation> = {}): FinalObservation {
  return { onAgents: [], liveAgentIds: new Set([A, B]), startedPids: [100], alivePids: [], ...extra };
}

function running(extra: Partial<FinalObservation> = {}): FinalObservation {
  return ended({ onAgents: [{ agentId: A, state: 'TASK_RUNNING' }], alivePids: [100], ...extra });
}

const checksFailed = (h: TaskHistory, f?: FinalObservation) => [...new Set(checkTask(h, f).map((v) => v.check))];

describe('chaos checks', () => {
  it('pass a task that started, ran and finished, with a re-sent unacknowledged update', () => {
    const h = history([up('TASK_STARTING', 'u1'), up('TASK_RUNNING', 'u2', { ack: 'failed' }), up('TASK_RUNNING', 'u2'), up('TASK_FINISHED', 'u3')]);
    expect(checkTask(h, ended())).toEqual([]);
  });

  it('pass a task still running on a live agent that lists it, and one that came back after TASK_LOST or TASK_UNREACHABLE', () => {
    expect(checkTask(history([up('TASK_STARTING', 'u1'), up('TASK_RUNNING', 'u2')]), running())).toEqual([]);
    const lost = history([up('TASK_RUNNING', 'u1'), master('TASK_LOST', 'REASON_AGENT_DISCONNECTED'), answer('TASK_RUNNING')], false);
    expect(checkTask(lost, running({ reconciled: { state: 'TASK_RUNNING', agentId: A, seq: 2 } }))).toEqual([]);
    const unreachable = history([up('TASK_RUNNING', 'u1'), master('TASK_UNREACHABLE'), answer('TASK_RUNNING'), up('TASK_KILLED', 'u2')]);
    expect(checkTask(unreachable, ended({ reconciled: { state: 'TASK_RUNNING', agentId: A, seq: 2 } }))).toEqual([]);
  });

  it('pass TASK_LOST followed by the agent\'s own terminal update, and a final reconciliation overtaken by a later update', () => {
    const h = history([up('TASK_RUNNING', 'u1'), master('TASK_LOST', 'REASON_AGENT_DISCONNECTED'), up('TASK_FAILED', 'u2')], false);
    expect(checkTask(h, ended())).toEqual([]);
    const overtaken = history([up('TASK_RUNNING', 'u1'), up('TASK_KILLING', 'u2'), answer('TASK_KILLING'), up('TASK_KILLED', 'u3')]);
    expect(checkTask(overtaken, ended({ reconciled: { state: 'TASK_KILLING', agentId: A, seq: 2 } }))).toEqual([]);
  });

  it("pass Mesos's partition case: a task that finished while its agent was unreachable, told by the master on re-registration, then by the agent", () => {
    const h = history([
      up('TASK_RUNNING', 'u1'),
      master('TASK_UNREACHABLE'),
      master('TASK_FINISHED', 'REASON_AGENT_REREGISTERED'),
      up('TASK_RUNNING', 'u1'), // its ack was taken by the master, lost with the agent
      up('TASK_FINISHED', 'u2'),
    ]);
    expect(checkTask(h, ended())).toEqual([]);
    const revived = history([up('TASK_FINISHED', 'u1'), master('TASK_RUNNING', 'REASON_AGENT_REREGISTERED')]);
    expect(checksFailed(revived, ended())).toEqual(['in-order']);
  });

  it('catch two terminal updates, and any update after a definite terminal one', () => {
    const h = history([up('TASK_RUNNING', 'u1'), up('TASK_FINISHED', 'u2'), up('TASK_KILLED', 'u3')]);
    expect(checksFailed(h, ended())).toEqual(['one-terminal', 'in-order']);
    const gone = history([up('TASK_RUNNING', 'u1'), master('TASK_GONE', 'REASON_AGENT_RESTARTED'), up('TASK_RUNNING', 'u2')]);
    expect(checksFailed(gone, ended())).toContain('in-order');
    const revived = history([up('TASK_FINISHED', 'u1'), answer('TASK_RUNNING')]);
    expect(checksFailed(revived)).toEqual(['in-order']);
  });

  it("pass the agent's stream going on after TASK_LOST where it was, STARTING included (what was not acknowledged is re-sent)", () => {
    const h = history([answer('TASK_STARTING'), master('TASK_LOST'), up('TASK_STARTING', 'u1'), up('TASK_RUNNING', 'u2'), up('TASK_KILLED', 'u3')], false);
    expect(checkTask(h, ended())).toEqual([]);
    const behind = history([up('TASK_RUNNING', 'u1'), master('TASK_LOST'), up('TASK_STARTING', 'u2'), up('TASK_KILLED', 'u3')], false);
    expect(checksFailed(behind, ended())).toEqual(['in-order']);
  });

  it('catch states going backwards', () => {
    expect(checksFailed(history([up('TASK_RUNNING', 'u1'), up('TASK_STARTING', 'u2'), up('TASK_FINISHED', 'u3')]), ended())).toEqual(['in-order']);
    expect(checksFailed(history([up('TASK_KILLING', 'u1'), up('TASK_RUNNING', 'u2'), up('TASK_KILLED', 'u3')]), ended())).toEqual(['in-order']);
  });

  it('catch a task that ran twice: two starts, two agents, two containers', () => {
    expect(checksFailed(history([up('TASK_RUNNING', 'u1'), up('TASK_FINISHED', 'u2')]), ended({ startedPids: [100, 101] }))).toEqual(['ran-once']);
    const twoAgents = history([up('TASK_RUNNING', 'u1'), master('TASK_LOST'), up('TASK_RUNNING', 'u2', { agentId: B }), up('TASK_FINISHED', 'u3', { agentId: B })], false);
    expect(checksFailed(twoAgents, ended())).toEqual(['ran-once']);
    const twoContainers = history([up('TASK_RUNNING', 'u1', { containerId: 'c1' }), master('TASK_LOST'), up('TASK_RUNNING', 'u2', { containerId: 'c2' }), up('TASK_FINISHED', 'u3')], false);
    expect(checksFailed(twoContainers, ended())).toEqual(['ran-once']);
  });

  it('catch an acknowledged update re-sent after a later one, a uuid reused for another state, and an acknowledged state re-reported with a new uuid', () => {
    const resent = history([up('TASK_STARTING', 'u1'), up('TASK_RUNNING', 'u2'), up('TASK_STARTING', 'u1'), up('TASK_FINISHED', 'u3')]);
    expect(checksFailed(resent, ended())).toEqual(['acks']);
    const reused = history([up('TASK_RUNNING', 'u1'), up('TASK_FINISHED', 'u1')]);
    expect(checksFailed(reused, ended())).toContain('acks');
    const renewed = history([up('TASK_STARTING', 'u1'), up('TASK_RUNNING', 'u2'), up('TASK_RUNNING', 'u3'), up('TASK_FINISHED', 'u4')]);
    expect(checksFailed(renewed, ended())).toEqual(['acks']);
  });

  it('catch a task that ended but still runs, one running on a dead agent or one its agent does not list, and one left half-way', () => {
    const h = history([up('TASK_RUNNING', 'u1'), master('TASK_LOST', 'REASON_AGENT_DISCONNECTED')], false);
    expect(checksFailed(h, ended({ alivePids: [100] }))).toEqual(['final-state']);
    expect(checksFailed(h, ended({ onAgents: [{ agentId: A, state: 'TASK_RUNNING' }] }))).toEqual(['final-state']);
    const still = history([up('TASK_RUNNING', 'u1')]);
    expect(checksFailed(still, running({ liveAgentIds: new Set([B]) }))).toEqual(['final-state']);
    expect(checksFailed(still, running({ onAgents: [] }))).toEqual(['final-state']);
    expect(checksFailed(still, running({ alivePids: [] }))).toEqual(['final-state']);
    expect(checksFailed(history([up('TASK_KILLING', 'u1')]), ended())).toEqual(['final-state']);
    expect(checksFailed(history([]), ended({ startedPids: [] }))).toEqual(['final-state']);
  });
});

describe('a partition notice after an unacknowledged terminal update', () => {
  it('is allowed (Mesos tells of every task still on the lost agent), but not after an acknowledged one', () => {
    const unacked = [up('TASK_STARTING', 'u1'), up('TASK_RUNNING', 'u2'), up('TASK_FINISHED', 'u3', { ack: 'failed' }), master('TASK_LOST'), up('TASK_FINISHED', 'u3')];
    expect(checksFailed(history(unacked, false), ended())).toEqual([]);
    const acked = [up('TASK_STARTING', 'u1'), up('TASK_RUNNING', 'u2'), up('TASK_FINISHED', 'u3'), master('TASK_LOST')];
    expect(checksFailed(history(acked, false), ended())).toEqual(['in-order']);
  });
});

describe('known issues', () => {
  const orphan = { check: 'final-state' as const, framework: 'fw', taskId: 't1', detail: 'ended TASK_LOST but its process 100 still runs' };
  const h = history([up('TASK_STARTING', 'u1'), master('TASK_LOST', 'REASON_AGENT_DISCONNECTED')], false);

  it('excuse nothing now that the launch race is fixed: an orphan is a violation even when its agent was killed right after its last update', () => {
    expect(splitKnown([orphan], [h], [{ agent: 'agent0', agentId: A, atMs: 0.5 }])).toEqual({ known: [], violations: [orphan] });
  });
});
