import { describe, expect, it } from 'vitest';
import { exitCodeOf } from './task-exec.js';
import { formatTable, parseTaskState } from './task-list.js';

describe('agora task helpers', () => {
  it('reads states as Mesos names them, with or without TASK_, in any case', () => {
    expect(parseTaskState('running')).toBe('TASK_RUNNING');
    expect(parseTaskState('TASK_FAILED')).toBe('TASK_FAILED');
    expect(parseTaskState('task_killed')).toBe('TASK_KILLED');
    expect(() => parseTaskState('runing')).toThrow(/--state: "runing" is not a task state; use one of staging, starting, running/);
  });

  it('aligns the table by column', () => {
    const table = formatTable([
      { id: 'web-1', name: 'web', state: 'TASK_RUNNING', frameworkId: 'F-0001', agentId: 'M-S0' },
      { id: 'db', name: 'database', state: 'TASK_STAGING', frameworkId: 'F-0002', agentId: 'M-S12' },
    ]);
    expect(table).toBe(
      [
        'ID     NAME      STATE         FRAMEWORK  AGENT',
        'web-1  web       TASK_RUNNING  F-0001     M-S0',
        'db     database  TASK_STAGING  F-0002     M-S12',
        '',
      ].join('\n'),
    );
  });

  it("turns a wait(2) status into a shell's exit code", () => {
    expect(exitCodeOf(0)).toBe(0);
    expect(exitCodeOf(4 << 8)).toBe(4);
    expect(exitCodeOf(9)).toBe(137); // SIGKILL
    expect(exitCodeOf(15)).toBe(143); // SIGTERM
    expect(exitCodeOf(undefined)).toBe(1);
  });
});
