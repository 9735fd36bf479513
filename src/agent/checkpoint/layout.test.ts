import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../api/index.js';
import { metaPaths, parseUpdates, replayUpdates, serializeUpdates, type UpdateRecord } from './layout.js';

const status = (state: TaskStatus['state'], uuid: string): TaskStatus => ({ task_id: { value: 't1' }, state, source: 'SOURCE_EXECUTOR', uuid });
const update = (state: TaskStatus['state'], uuid: string): UpdateRecord => ({ type: 'UPDATE', status: status(state, uuid) });
const ack = (uuid: string): UpdateRecord => ({ type: 'ACK', uuid });

describe('metaPaths', () => {
  it("lays files out as Mesos's agent does", () => {
    expect(metaPaths.latestAgent('/w/')).toBe('/w/meta/slaves/latest');
    expect(metaPaths.agentInfo('/w', 'A-S0')).toBe('/w/meta/slaves/A-S0/slave.info');
    expect(metaPaths.frameworkInfo('/w', 'A-S0', 'F1')).toBe('/w/meta/slaves/A-S0/frameworks/F1/framework.info');
    expect(metaPaths.executorInfo('/w', 'A-S0', 'F1', 'e')).toBe('/w/meta/slaves/A-S0/frameworks/F1/executors/e/executor.info');
    const run = metaPaths.run('/w', 'A-S0', 'F1', 'e', 'c1');
    expect(run).toBe('/w/meta/slaves/A-S0/frameworks/F1/executors/e/runs/c1');
    expect(metaPaths.taskUpdates(run, 't1')).toBe(`${run}/tasks/t1/task.updates`);
    expect(metaPaths.httpMarker(run)).toBe(`${run}/http.marker`);
  });
});

describe('task.updates', () => {
  it('round-trips records, one JSON object a line', () => {
    const records = [update('TASK_STARTING', 'u1'), ack('u1'), update('TASK_RUNNING', 'u2')];
    const text = serializeUpdates(records);
    expect(text.split('\n')).toHaveLength(4);
    expect(parseUpdates(text)).toEqual({ records });
  });

  it('drops a last line cut short, and names a line that is not a record', () => {
    const text = serializeUpdates([update('TASK_STARTING', 'u1')]);
    expect(parseUpdates(`${text}{"type":"ACK","uu`)).toEqual({ records: [update('TASK_STARTING', 'u1')] });
    expect(parseUpdates(`${text}nonsense\n`)).toEqual({ error: 'line 2 is not JSON' });
    expect(parseUpdates(`${JSON.stringify({ type: 'UPDATE', status: { task_id: { value: 't' }, state: 'TASK_RUNNING' } })}\n`)).toMatchObject({
      error: expect.stringMatching(/^line 1 is neither/) as unknown,
    });
  });

  it('replays the stream: acknowledgements take the head, a closed stream is a terminal update acknowledged', () => {
    const open = replayUpdates([update('TASK_STARTING', 'u1'), ack('u1'), update('TASK_RUNNING', 'u2'), update('TASK_FINISHED', 'u3')]);
    expect(open).toMatchObject({ state: 'TASK_FINISHED', closed: false });
    if ('error' in open) return;
    expect(open.statuses.map((s) => s.uuid)).toEqual(['u1', 'u2', 'u3']);
    expect(open.pending.map((s) => s.uuid)).toEqual(['u2', 'u3']);
    expect(replayUpdates([update('TASK_FINISHED', 'u1'), ack('u1')])).toMatchObject({ pending: [], closed: true });
    expect(replayUpdates([])).toEqual({ statuses: [], pending: [], state: undefined, closed: false });
  });

  it('refuses a stream the agent cannot have written', () => {
    expect(replayUpdates([update('TASK_STARTING', 'u1'), update('TASK_RUNNING', 'u2'), ack('u2')])).toEqual({
      error: 'record 3: acknowledgement of u2, which is not the oldest unacknowledged update',
    });
    expect(replayUpdates([update('TASK_FAILED', 'u1'), update('TASK_RUNNING', 'u2')])).toEqual({ error: 'record 2: TASK_RUNNING after terminal TASK_FAILED' });
  });
});
