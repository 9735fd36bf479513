import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, SequentialIds } from '../../base/index.js';
import type { ResourceStatistics } from '../../containerizer/index.js';
import { createHttpServer } from '../../http/index.js';
import { Resources } from '../../resources/index.js';
import { AgentCore } from '../core/index.js';
import type { MeasuredContainer } from './containers.js';
import { registerAgentEndpoints } from './endpoints.js';
import type { AgentDescription } from './views.js';

let app: FastifyInstance;
let containerId: string;
const STATS: ResourceStatistics = { timestamp: 1, cpus_limit: 0.5, mem_limit_bytes: 33554432, mem_rss_bytes: 1024, processes: 2 };

beforeAll(async () => {
  const core = new AgentCore({
    clock: new ManualClock(),
    ids: new SequentialIds(1),
    config: { workDir: '/w', ip: '10.0.0.1', port: 5051, executorShutdownGracePeriodMs: 5_000 },
  });
  core.handle({ kind: 'subscribed', agentId: 'A-S0' });
  const effects = core.handle({
    kind: 'runTask',
    frameworkId: 'f1',
    frameworkInfo: { user: 'root', name: 'fw' },
    task: {
      name: 't1',
      task_id: { value: 't1' },
      agent_id: { value: 'A-S0' },
      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
      command: { value: 'sleep 10' },
    },
  });
  const launch = effects.find((e) => e.kind === 'launchContainer');
  containerId = launch?.kind === 'launchContainer' ? launch.launch.containerId : '';
  core.handle({ kind: 'containerLaunched', containerId, pid: 4242 });
  const description: AgentDescription = {
    hostname: 'node1',
    ip: '10.0.0.1',
    port: 5051,
    version: '0.1.0',
    startTimeMs: 1_000_000,
    buildDate: 'today',
    resources: Resources.empty(),
    attributes: [],
    flags: {},
  };
  const containers: MeasuredContainer[] = [
    { containerId, pid: 4242, networkInfos: undefined, usage: async () => STATS },
    // A container the core has forgotten is left out.
    { containerId: 'unknown', pid: 1, networkInfos: undefined, usage: async () => STATS },
  ];
  app = createHttpServer({ logger: pino({ level: 'silent' }) });
  registerAgentEndpoints(app, () => core, () => description, () => containers);
  await app.ready();
});

afterAll(() => app.close());

const call = (body: unknown, path = '/api/v1') =>
  app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describe("the agent's v1 Operator API", () => {
  it('answers GET_HEALTH and GET_VERSION', async () => {
    expect((await call({ type: 'GET_HEALTH' })).json()).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
    expect((await call({ type: 'GET_VERSION' }, '/slave(1)/api/v1')).json()).toMatchObject({
      type: 'GET_VERSION',
      get_version: { version_info: { version: '0.1.0' } },
    });
  });

  it('answers GET_CONTAINERS with usage from the containerizer', async () => {
    const response = await call({ type: 'GET_CONTAINERS', get_containers: { show_nested: false } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      type: 'GET_CONTAINERS',
      get_containers: {
        containers: [
          {
            framework_id: { value: 'f1' },
            executor_id: { value: 't1' },
            executor_name: "Command Executor (Task: t1) (Command: sh -c 'sleep 10')",
            container_id: { value: containerId },
            container_status: { container_id: { value: containerId }, executor_pid: 4242 },
            resource_statistics: STATS,
          },
        ],
      },
    });
  });

  it('answers GET_STATE with tasks, executors and frameworks', async () => {
    const body = (await call({ type: 'GET_STATE' })).json() as { get_state: Record<string, Record<string, unknown[]>> };
    expect(body.get_state['get_tasks']!['launched_tasks']).toMatchObject([{ task_id: { value: 't1' }, state: 'TASK_RUNNING' }]);
    expect(body.get_state['get_executors']!['executors']).toMatchObject([{ executor_info: { executor_id: { value: 't1' } } }]);
    expect(body.get_state['get_frameworks']!['frameworks']).toMatchObject([{ framework_info: { id: { value: 'f1' }, name: 'fw' } }]);
  });

  it('answers 501 naming a call it does not implement, and 400 for one that does not exist', async () => {
    const launch = await call({ type: 'LAUNCH_NESTED_CONTAINER_SESSION' });
    expect(launch.statusCode).toBe(501);
    expect(launch.body).toMatch(/LAUNCH_NESTED_CONTAINER_SESSION/);
    const bad = await call({ type: 'NO_SUCH_CALL' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/agent\.Call\.type/);
  });

  it('serves /monitor/statistics and /containers in Mesos shapes', async () => {
    const statistics = (await app.inject({ method: 'GET', url: '/monitor/statistics' })).json();
    expect(statistics).toEqual([
      { executor_id: 't1', executor_name: "Command Executor (Task: t1) (Command: sh -c 'sleep 10')", framework_id: 'f1', source: 't1', statistics: STATS },
    ]);
    const containers = (await app.inject({ method: 'GET', url: '/slave(1)/containers' })).json() as Array<Record<string, unknown>>;
    expect(containers[0]).toMatchObject({ container_id: containerId, container_status: { executor_pid: 4242 }, statistics: STATS });
  });
});
