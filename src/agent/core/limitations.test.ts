/**
 * Container limitations in the agent core: a disk limitation kills at once, an OOM arrives with
 * the exit, and either ends the task TASK_FAILED with Mesos's reason, from the agent; the task's
 * resources and ContainerInfo reach the containerizer.
 */
import { describe, expect, it } from 'vitest';
import type { TaskInfo, TaskStatus } from '../../api/index.js';
import { ManualClock, SequentialIds } from '../../base/index.js';
import { AgentCore } from './agent-core.js';
import type { AgentEffect, AgentInput, ContainerLimitation } from './effects.js';

function aCore() {
  const clock = new ManualClock();
  const core = new AgentCore({
    clock,
    ids: new SequentialIds(1),
    config: { workDir: '/var/agora', ip: '10.0.0.1', port: 5051, executorShutdownGracePeriodMs: 5_000 },
  });
  const effects: AgentEffect[] = [];
  const send = (input: AgentInput) => {
    const out = core.handle(input);
    effects.push(...out);
    return out;
  };
  send({ kind: 'subscribed', agentId: 'A-S0' });
  // Updates are forwarded one at a time until acknowledged: read what the core generated.
  const statuses = (): TaskStatus[] => core.frameworks.get('f1')?.executors.get('t1')?.task.statuses ?? [];
  return { clock, core, send, effects, statuses };
}

const TASK: TaskInfo = {
  name: 't1',
  task_id: { value: 't1' },
  agent_id: { value: 'A-S0' },
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
    { name: 'disk', type: 'SCALAR', scalar: { value: 2 } },
  ],
  command: { value: 'sleep 60' },
  container: { type: 'MESOS', network_infos: [{ name: 'net1' }] },
};

function launch(h: ReturnType<typeof aCore>): string {
  h.send({ kind: 'runTask', frameworkId: 'f1', frameworkInfo: { user: 'root', name: 'fw' }, task: TASK });
  const launchEffect = h.effects.find((e) => e.kind === 'launchContainer');
  if (launchEffect?.kind !== 'launchContainer') throw new Error('no launch');
  return launchEffect.launch.containerId;
}

const DISK: ContainerLimitation = {
  reason: 'REASON_CONTAINER_LIMITATION_DISK',
  message: 'Disk usage (8.0MB) exceeds quota (2MB)',
  resource: { name: 'disk', valueMb: 2 },
};

describe('AgentCore: container limitations', () => {
  it("hands the task's cpus, mem, disk and ContainerInfo to the containerizer", () => {
    const h = aCore();
    launch(h);
    const effect = h.effects.find((e) => e.kind === 'launchContainer');
    expect(effect?.kind === 'launchContainer' && effect.launch).toMatchObject({
      resources: { cpus: 0.5, memMb: 32, diskMb: 2 },
      container: TASK.container,
    });
  });

  it('kills a container over its disk at once and fails its task with REASON_CONTAINER_LIMITATION_DISK', () => {
    const h = aCore();
    const containerId = launch(h);
    h.send({ kind: 'containerLaunched', containerId, pid: 7 });
    expect(h.send({ kind: 'containerLimitation', containerId, limitation: DISK })).toContainEqual({
      kind: 'signalContainer',
      containerId,
      signal: 'SIGKILL',
    });
    // A second measure before the exit changes nothing.
    expect(h.send({ kind: 'containerLimitation', containerId, limitation: DISK }).filter((e) => e.kind === 'signalContainer')).toEqual([]);
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGKILL', description: 'terminated with signal Killed' } });
    expect(h.statuses().at(-1)).toMatchObject({
      state: 'TASK_FAILED',
      source: 'SOURCE_AGENT',
      reason: 'REASON_CONTAINER_LIMITATION_DISK',
      message: DISK.message,
      limitation: { resources: [{ name: 'disk', type: 'SCALAR', scalar: { value: 2 } }] },
    });
  });

  it('fails a task whose container the OOM killer ended with REASON_CONTAINER_LIMITATION_MEMORY', () => {
    const h = aCore();
    const containerId = launch(h);
    h.send({ kind: 'containerLaunched', containerId, pid: 7 });
    const limitation: ContainerLimitation = {
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      message: 'Memory limit exceeded: Requested: 32MB Maximum Used: 32MB',
      resource: { name: 'mem', valueMb: 32 },
    };
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGKILL', description: 'terminated with signal Killed', limitation } });
    expect(h.statuses().at(-1)).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message: limitation.message });
  });

  it('keeps TASK_KILLED for a task the framework was already killing', () => {
    const h = aCore();
    const containerId = launch(h);
    h.send({ kind: 'containerLaunched', containerId, pid: 7 });
    h.send({ kind: 'killTask', frameworkId: 'f1', taskId: 't1' });
    h.send({ kind: 'containerLimitation', containerId, limitation: DISK });
    h.send({ kind: 'containerExited', containerId, exit: { signal: 'SIGKILL', description: 'terminated with signal Killed' } });
    expect(h.statuses().at(-1)).toMatchObject({ state: 'TASK_KILLED' });
  });

  it("reports the container's own addresses instead of the agent's when it has them", () => {
    const h = aCore();
    const containerId = launch(h);
    const networkInfos = [{ name: 'net1', ip_addresses: [{ protocol: 'IPv4', ip_address: '10.88.0.5' }] }];
    h.send({ kind: 'containerLaunched', containerId, pid: 7, networkInfos });
    expect(h.statuses().at(-1)).toMatchObject({ state: 'TASK_RUNNING', container_status: { network_infos: networkInfos } });
  });
});
