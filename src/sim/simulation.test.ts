import { describe, expect, it } from 'vitest';
import { Simulation, parseScenario, summarize } from './index.js';
import type { ScenarioInput } from './index.js';
import tenants from '../../scenarios/tenants.json' with { type: 'json' };

const small: ScenarioInput = {
  name: 'small',
  seed: 42,
  durationSeconds: 120,
  latencyMs: { min: 1, max: 20 },
  agents: [{ count: 20, resources: 'cpus:8;mem:16384;disk:100000;ports:[31000-32000]' }],
  frameworks: [
    { name: 'batch', count: 3, workload: { kind: 'batch', tasks: 300, resources: 'cpus:0.5;mem:512', durationSeconds: { min: 1, max: 20 }, failureRate: 0.05 } },
    { name: 'web', workload: { kind: 'service', instances: 40, resources: 'cpus:1;mem:1024', meanSecondsBetweenFailures: 60 } },
  ],
};

describe('simulator', () => {
  it('runs a small cluster to completion with every invariant holding', () => {
    const sim = new Simulation(parseScenario(small));
    sim.run();
    const summary = summarize(sim);
    expect(summary.violations).toEqual([]);
    // 900 batch tasks finished (retries of failures included in launches), 40 services running.
    expect(summary.tasksFinished).toBe(900);
    expect(summary.tasksRunningAtEnd).toBe(40);
    expect(summary.tasksLaunched).toBe(summary.tasksFinished + summary.tasksFailed + summary.tasksOther + summary.tasksRunningAtEnd);
  });

  it('replays the same event log from the same seed, and a different one from another seed', () => {
    const digest = (seed: number) => {
      const sim = new Simulation(parseScenario({ ...small, seed, durationSeconds: 40 }));
      sim.run();
      return sim.log.digest;
    };
    expect(digest(7)).toBe(digest(7));
    expect(digest(7)).not.toBe(digest(8));
  });

  it('keeps multi-role tenants within their quota limits while they compete for a full cluster', () => {
    const sim = new Simulation(parseScenario(tenants));
    let engCpusPeak = 0;
    let adsCpusPeak = 0;
    sim.run((s) => {
      const used = (prefix: string) =>
        s.agents.reduce((n, a) => n + [...a.usedByRole()].filter(([r]) => r === prefix || r.startsWith(`${prefix}/`)).reduce((m, [, r]) => m + r.scalar('cpus'), 0), 0);
      engCpusPeak = Math.max(engCpusPeak, used('eng'));
      adsCpusPeak = Math.max(adsCpusPeak, used('ads'));
    }, 5_000);
    const summary = summarize(sim);
    expect(summary.violations).toEqual([]);
    // 40 agents x 16 cpus = 640 cpus; the limits bind: eng <= 200, ads <= 150, and both reach them.
    expect(engCpusPeak).toBeLessThanOrEqual(200);
    expect(engCpusPeak).toBeGreaterThan(150);
    expect(adsCpusPeak).toBeLessThanOrEqual(150);
    expect(adsCpusPeak).toBeGreaterThan(100);
  });

  it('reports a quota limit broken, so the check can fail', () => {
    const sim = new Simulation(parseScenario({ ...small, durationSeconds: 30 }));
    sim.clock.runUntil(20_000);
    sim.checker.setQuotaLimit('*', { cpus: 1 });
    sim.checker.checkQuotaLimits(sim.agents);
    expect(sim.checker.violations.join('\n')).toMatch(/role \*: cpus .* exceeds its quota limit 1/);
  });

  it('catches a master that offers what an agent does not have', () => {
    const sim = new Simulation(parseScenario({ ...small, durationSeconds: 5 }));
    sim.clock.runUntil(2_000);
    const agent = sim.agents[0]!;
    // Simulate a lie: the agent secretly runs a task the master never placed.
    agent.tasks.set('ghost', { frameworkId: 'x', info: { name: 'g', task_id: { value: 'ghost' }, agent_id: { value: agent.agentId! } }, resources: agent.total, state: 'TASK_RUNNING', pending: [], endTimer: 0 } as never);
    sim.checker.markDirty(agent.agentId!);
    sim.checker.checkCapacity();
    expect(sim.checker.violations.join('\n')).toMatch(/exceed its total/);
  });
});
