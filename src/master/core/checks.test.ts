import { describe, expect, it } from 'vitest';
import { Resources } from '../../resources/index.js';
import { MasterHarness } from './harness.js';

describe('master core: health checks and checks in LAUNCH', () => {
  it('answers a task with an invalid health check or check TASK_ERROR naming the field, and runs the valid one as sent', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent('cpus:2;mem:256');
    h.settle();
    const offer = f.offers()[0]!;
    const task = (id: string, extra: object) => ({
      name: id,
      task_id: { value: id },
      agent_id: offer.agent_id,
      resources: (Resources.parse('cpus:0.1') as Resources).toWire(),
      command: { value: 'sleep 60' },
      ...extra,
    });
    const healthCheck = { type: 'HTTP', http: { port: 8080, path: '/health' }, consecutive_failures: 2 };
    f.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                task('good', { health_check: healthCheck, check: { type: 'TCP', tcp: { port: 8080 } } }),
                task('bad-health', { health_check: { type: 'HTTP', http: { port: 8080, path: 'health' } } }),
                task('bad-check', { check: { type: 'COMMAND', command: {} } }),
              ],
            },
          },
        ],
      },
    });
    const [run] = agent.eventsOf('RUN_TASK');
    expect(run?.run_task.task).toMatchObject({ task_id: { value: 'good' }, health_check: healthCheck, check: { type: 'TCP', tcp: { port: 8080 } } });
    expect(agent.eventsOf('RUN_TASK')).toHaveLength(1);
    expect(f.updates().map((s) => [s.task_id.value, s.state, s.reason, s.message])).toEqual([
      ['bad-health', 'TASK_ERROR', 'REASON_TASK_INVALID', "Task uses an invalid health check: health_check.http.path: must start with '/' (got 'health')"],
      ['bad-check', 'TASK_ERROR', 'REASON_TASK_INVALID', 'Task uses an invalid check: check.command.command: required field is missing'],
    ]);
  });
});
