import { describe, expect, it } from 'vitest';
import type { ExecutorInfo, Volume } from '../../api/index.js';
import { type ExecutorLaunchContext, planExecutor } from './executor-launch.js';

const INSTALL: Volume = { container_path: '/tmp/agora', mode: 'RO', source: { type: 'HOST_PATH', host_path: { path: '/tmp/agora' } } };
const ctx: ExecutorLaunchContext = {
  agentId: 'a1',
  frameworkId: 'f1',
  frameworkInfo: { user: 'root', name: 'fw' },
  containerId: 'c1',
  directory: '/work/sandbox',
  metaDirectory: '/work/meta/run',
  endpoint: '127.0.0.1:5051',
  executorShutdownGracePeriodMs: 5000,
  defaultExecutorCommand: { shell: false, value: '/usr/bin/node', argv: ['node', '/tmp/agora/dist/main/default-executor.js'] },
  defaultExecutorVolumes: [INSTALL],
};
const resources = [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } }];

describe('planExecutor: the agent volumes of the default executor', () => {
  it("gives the default executor agora's install as a read-only volume, after the volumes of its ExecutorInfo", () => {
    const own: Volume = { container_path: 'shared', mode: 'RW', source: { type: 'SANDBOX_PATH', sandbox_path: { type: 'SELF', path: 'shared' } } };
    const info: ExecutorInfo = { type: 'DEFAULT', executor_id: { value: 'e1' }, resources, container: { type: 'MESOS', volumes: [own], network_infos: [{ name: 'net' }] } };
    const plan = planExecutor(info, [], ctx);
    expect(plan).toMatchObject({ container: { type: 'MESOS', volumes: [own, INSTALL], network_infos: [{ name: 'net' }] } });
    expect(planExecutor({ ...info, container: undefined }, [], ctx)).toMatchObject({ container: { type: 'MESOS', volumes: [INSTALL] } });
  });

  it('leaves a custom executor and an agent without such volumes as they were', () => {
    const custom: ExecutorInfo = { type: 'CUSTOM', executor_id: { value: 'e2' }, resources, command: { value: './run' } };
    expect(planExecutor(custom, [], ctx)).not.toHaveProperty('container');
    const bare = planExecutor({ type: 'DEFAULT', executor_id: { value: 'e3' }, resources }, [], { ...ctx, defaultExecutorVolumes: [] });
    expect(bare).not.toHaveProperty('container');
  });
});
