import { describe, expect, it } from 'vitest';
import type { TaskState, TaskStatus } from '../../api/index.js';
import { ManualClock, SequentialIds, uuidToBase64 } from '../../base/index.js';
import {
  STATUS_UPDATE_RETRY_INTERVAL_MAX_MS,
  StatusUpdateManager,
  type StatusUpdateEffect,
} from './status-update-manager.js';

const ids = new SequentialIds(7);

function status(taskId: string, state: TaskState): TaskStatus {
  return { task_id: { value: taskId }, state, uuid: uuidToBase64(ids.uuid()) };
}

function forwarded(effects: StatusUpdateEffect[]): string[] {
  return effects.flatMap((e) => (e.kind === 'forward' ? [`${e.status.task_id.value}:${e.status.state}`] : []));
}

function timerAt(effects: StatusUpdateEffect[]): number | undefined {
  return effects.flatMap((e) => (e.kind === 'startTimer' ? [e.atMs] : []))[0];
}

/** A manager already resumed (connected to a master), with its clock. */
function connected(): { clock: ManualClock; sum: StatusUpdateManager } {
  const clock = new ManualClock();
  const sum = new StatusUpdateManager(clock);
  sum.resume();
  return { clock, sum };
}

describe('StatusUpdateManager', () => {
  it('forwards one update per task at a time, in order, each after the previous is acknowledged', () => {
    const { sum } = connected();
    const starting = status('t1', 'TASK_STARTING');
    const running = status('t1', 'TASK_RUNNING');
    const finished = status('t1', 'TASK_FINISHED');

    expect(forwarded(sum.update('f1', starting))).toEqual(['t1:TASK_STARTING']);
    expect(forwarded(sum.update('f1', running))).toEqual([]);
    expect(forwarded(sum.update('f1', finished))).toEqual([]);
    expect(sum.pendingCount('f1', 't1')).toBe(3);

    const ack1 = sum.acknowledge('f1', 't1', starting.uuid!);
    expect(ack1.kind === 'acknowledged' && forwarded(ack1.effects)).toEqual(['t1:TASK_RUNNING']);
    const ack2 = sum.acknowledge('f1', 't1', running.uuid!);
    expect(ack2.kind === 'acknowledged' && forwarded(ack2.effects)).toEqual(['t1:TASK_FINISHED']);
  });

  it('keeps streams of different tasks independent', () => {
    const { sum } = connected();
    expect(forwarded(sum.update('f1', status('t1', 'TASK_STARTING')))).toEqual(['t1:TASK_STARTING']);
    expect(forwarded(sum.update('f1', status('t2', 'TASK_STARTING')))).toEqual(['t2:TASK_STARTING']);
  });

  it('retries the head with backoff 10s, 20s, 40s ... capped at 10 minutes', () => {
    const { clock, sum } = connected();
    let effects = sum.update('f1', status('t1', 'TASK_RUNNING'));
    const intervals: number[] = [];
    for (let i = 0; i < 9; i++) {
      const atMs = timerAt(effects)!;
      intervals.push(atMs - clock.monotonicMs());
      clock.advanceMs(atMs - clock.monotonicMs());
      effects = sum.retry({ kind: 'statusUpdateRetry', frameworkId: 'f1', taskId: 't1' });
      expect(forwarded(effects)).toEqual(['t1:TASK_RUNNING']);
    }
    expect(intervals).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000, 600_000]);
    expect(STATUS_UPDATE_RETRY_INTERVAL_MAX_MS).toBe(600_000);
  });

  it('resets the backoff to 10s for the next update once one is acknowledged', () => {
    const { clock, sum } = connected();
    const first = status('t1', 'TASK_STARTING');
    sum.update('f1', first);
    sum.update('f1', status('t1', 'TASK_RUNNING'));
    clock.advanceMs(10_000);
    sum.retry({ kind: 'statusUpdateRetry', frameworkId: 'f1', taskId: 't1' }); // Now at 20 s.
    const ack = sum.acknowledge('f1', 't1', first.uuid!);
    expect(ack.kind).toBe('acknowledged');
    if (ack.kind !== 'acknowledged') return;
    expect(ack.effects.map((e) => e.kind)).toEqual(['cancelTimer', 'forward', 'startTimer']);
    expect(timerAt(ack.effects)).toBe(clock.monotonicMs() + 10_000);
  });

  it('ignores acknowledgements of unknown tasks, unknown uuids and updates not at the head', () => {
    const { sum } = connected();
    const starting = status('t1', 'TASK_STARTING');
    const running = status('t1', 'TASK_RUNNING');
    sum.update('f1', starting);
    sum.update('f1', running);

    expect(sum.acknowledge('f1', 'nope', starting.uuid!).kind).toBe('ignored');
    expect(sum.acknowledge('f2', 't1', starting.uuid!).kind).toBe('ignored');
    expect(sum.acknowledge('f1', 't1', uuidToBase64(ids.uuid())).kind).toBe('ignored');
    expect(sum.acknowledge('f1', 't1', running.uuid!).kind).toBe('ignored'); // Not the head.
    expect(sum.pendingCount('f1', 't1')).toBe(2);
    expect(sum.head('f1', 't1')?.uuid).toBe(starting.uuid);
  });

  it('closes a stream once its terminal update is acknowledged', () => {
    const { sum } = connected();
    const failed = status('t1', 'TASK_FAILED');
    sum.update('f1', failed);
    const ack = sum.acknowledge('f1', 't1', failed.uuid!);
    expect(ack).toMatchObject({ kind: 'acknowledged', streamClosed: true });
    expect(sum.pendingCount('f1', 't1')).toBe(0);
    expect(sum.heads()).toEqual([]);
    // A second acknowledgement of the same update is a duplicate.
    expect(sum.acknowledge('f1', 't1', failed.uuid!).kind).toBe('ignored');
  });

  it('refuses (as a bug) an update queued after a terminal one', () => {
    const { sum } = connected();
    sum.update('f1', status('t1', 'TASK_FINISHED'));
    expect(() => sum.update('f1', status('t1', 'TASK_RUNNING'))).toThrow(/after terminal/);
  });

  it('forwards nothing while paused and resends every head on resume', () => {
    const clock = new ManualClock();
    const sum = new StatusUpdateManager(clock); // Starts paused: no master yet.
    expect(sum.update('f1', status('t1', 'TASK_STARTING'))).toEqual([]);
    expect(sum.update('f1', status('t2', 'TASK_STARTING'))).toEqual([]);
    expect(forwarded(sum.resume()).sort()).toEqual(['t1:TASK_STARTING', 't2:TASK_STARTING']);

    const paused = sum.pause();
    expect(paused.map((e) => e.kind)).toEqual(['cancelTimer', 'cancelTimer']);
    expect(sum.retry({ kind: 'statusUpdateRetry', frameworkId: 'f1', taskId: 't1' })).toEqual([]);
    clock.advanceMs(3_600_000);
    const resumed = sum.resume();
    expect(forwarded(resumed).sort()).toEqual(['t1:TASK_STARTING', 't2:TASK_STARTING']);
    expect(timerAt(resumed)).toBe(clock.monotonicMs() + 10_000);
  });

  it('drops every stream of a framework on cleanup', () => {
    const { sum } = connected();
    sum.update('f1', status('t1', 'TASK_STARTING'));
    sum.update('f2', status('t2', 'TASK_STARTING'));
    const effects = sum.cleanup('f1');
    expect(effects).toEqual([{ kind: 'cancelTimer', timer: { kind: 'statusUpdateRetry', frameworkId: 'f1', taskId: 't1' } }]);
    expect(sum.heads().map((h) => h.frameworkId)).toEqual(['f2']);
  });

  it('ignores a stale retry timer of a stream that was acknowledged meanwhile', () => {
    const { sum } = connected();
    const finished = status('t1', 'TASK_FINISHED');
    sum.update('f1', finished);
    sum.acknowledge('f1', 't1', finished.uuid!);
    expect(sum.retry({ kind: 'statusUpdateRetry', frameworkId: 'f1', taskId: 't1' })).toEqual([]);
  });
});
