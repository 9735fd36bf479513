import { describe, expect, it } from 'vitest';
import type { TaskInfo } from '../../api/index.js';
import { type LaunchContext, planCommandTask } from './command-executor.js';

const ctx: LaunchContext = {
  agentId: 'a1',
  frameworkId: 'f1',
  frameworkInfo: { user: '', name: 'fw' },
  containerId: 'c1',
  directory: '/sandbox',
  metaDirectory: '/meta',
  endpoint: '127.0.0.1:5051',
  executorShutdownGracePeriodMs: 5_000,
};
const image = { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'busybox' } } } };
const task = (command: TaskInfo['command'], container?: unknown): TaskInfo => ({
  name: 't',
  task_id: { value: 't1' },
  agent_id: { value: 'a1' },
  command,
  ...(container === undefined ? {} : { container }),
});

describe('planning a command task that runs in an image', () => {
  it("lets shell=false leave the value empty, for the image's Entrypoint/Cmd, and keeps the arguments", () => {
    const plan = planCommandTask(task({ shell: false, arguments: ['-c', 'echo hi'] }, image), ctx);
    expect(plan).toMatchObject({ command: { shell: false, value: '', argv: ['-c', 'echo hi'] }, container: image });
  });

  it('still needs a value without an image, or with shell=true', () => {
    expect(planCommandTask(task({ shell: false }), ctx)).toEqual({ error: expect.stringMatching(/CommandInfo.value is missing/) });
    expect(planCommandTask(task({ shell: true }, image), ctx)).toEqual({ error: expect.stringMatching(/CommandInfo.value is missing/) });
  });

  it("hands CommandInfo.environment on alone, so the image's Env can go under it", () => {
    const plan = planCommandTask(task({ value: 'env', environment: { variables: [{ name: 'PATH', value: '/mine' }] } }, image), ctx);
    expect(plan).toMatchObject({ commandEnv: { PATH: '/mine' }, env: expect.objectContaining({ PATH: '/mine', MESOS_TASK_ID: 't1' }) });
    expect(planCommandTask(task({ value: 'env' }), ctx)).not.toHaveProperty('commandEnv');
  });
});
