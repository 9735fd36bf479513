import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../api/index.js';
import type { TaskCheckpoint } from '../core/index.js';
import { metaPaths } from './layout.js';
import { readCheckpoint } from './reader.js';
import { CheckpointWriter } from './writer.js';

let workDir: string;
let writer: CheckpointWriter;
beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-checkpoint-'));
  writer = new CheckpointWriter(workDir, pino({ level: 'silent' }));
});
afterEach(() => rmSync(workDir, { recursive: true, force: true }));

const status = (state: TaskStatus['state'], uuid: string): TaskStatus => ({ task_id: { value: 't1' }, state, source: 'SOURCE_EXECUTOR', uuid });

function checkpoint(record: TaskCheckpoint['record']): TaskCheckpoint {
  return {
    agentId: 'A-S0',
    frameworkId: 'f1',
    frameworkInfo: { id: { value: 'f1' }, user: 'alice', name: 'fw', checkpoint: true },
    executorId: 't1',
    containerId: 'c1',
    task: { name: 't1', task_id: { value: 't1' }, agent_id: { value: 'A-S0' }, resources: [], command: { value: 'sleep 9' } },
    record,
  };
}

describe('CheckpointWriter and readCheckpoint', () => {
  it('writes what the reader recovers: the agent, its frameworks, runs, tasks and streams', async () => {
    await writer.agent('A-S0', { hostname: 'h1', resources: [], attributes: [] });
    await writer.task(checkpoint({ type: 'UPDATE', status: status('TASK_STARTING', 'u1') }));
    await writer.task(checkpoint({ type: 'ACK', uuid: 'u1' }));
    await writer.task(checkpoint({ type: 'UPDATE', status: status('TASK_RUNNING', 'u2') }));
    await writer.bootId('boot-1');

    expect(readlinkSync(metaPaths.latestAgent(workDir))).toBe('A-S0');
    expect(readlinkSync(join(metaPaths.runs(workDir, 'A-S0', 'f1', 't1'), 'latest'))).toBe('c1');
    const read = await readCheckpoint(workDir);
    expect(read).toMatchObject({ agentId: 'A-S0', info: { hostname: 'h1', id: { value: 'A-S0' } }, bootId: 'boot-1', errors: [], uncheckpointed: [] });
    expect(read!.frameworks).toMatchObject([{ id: 'f1', info: { name: 'fw' } }]);
    expect(read!.runs).toHaveLength(1);
    const [run] = read!.runs;
    expect(run).toMatchObject({ frameworkId: 'f1', executorId: 't1', containerId: 'c1' });
    expect(run!.executorInfo).toBeUndefined();
    expect(run!.tasks[0]!.stream).toMatchObject({ state: 'TASK_RUNNING', closed: false });
    expect(run!.tasks[0]!.stream.pending.map((s) => s.uuid)).toEqual(['u2']);
  });

  it('forgets a run once its container is gone and its streams are closed', async () => {
    const runDir = metaPaths.run(workDir, 'A-S0', 'f1', 't1', 'c1');
    await writer.task(checkpoint({ type: 'UPDATE', status: status('TASK_FINISHED', 'u1') }));
    await writer.containerExited(runDir);
    expect(existsSync(runDir)).toBe(true); // Its terminal update is not acknowledged yet.
    await writer.task(checkpoint({ type: 'ACK', uuid: 'u1' }));
    await writer.flushed();
    expect(existsSync(runDir)).toBe(false);
    // Its executor had no other run: nothing of it is left.
    expect(existsSync(metaPaths.executor(workDir, 'A-S0', 'f1', 't1'))).toBe(false);
  });

  it('skips a task whose directory was made but whose TaskInfo was not written yet (the agent died in between)', async () => {
    await writer.agent('A-S0', { hostname: 'h1', resources: [], attributes: [] });
    await writer.task(checkpoint({ type: 'UPDATE', status: status('TASK_STARTING', 'u1') }));
    const runDir = metaPaths.run(workDir, 'A-S0', 'f1', 't1', 'c1');
    mkdirSync(join(metaPaths.tasks(runDir), 't2'), { recursive: true });
    const read = await readCheckpoint(workDir);
    expect(read!.errors).toEqual([]);
    expect(read!.runs[0]!.tasks.map((t) => t.info.task_id.value)).toEqual(['t1']);
  });

  it('reads no checkpoint where no agent ever subscribed', async () => {
    expect(await readCheckpoint(workDir)).toBeUndefined();
  });
});
