/** What a simulation run amounts to: task counts, launch latency and throughput, and its findings. */
import type { Simulation } from './simulation.js';

export interface SimSummary {
  scenario: string;
  seed: number;
  simulatedSeconds: number;
  agents: number;
  frameworks: number;
  tasksLaunched: number;
  tasksFinished: number;
  tasksFailed: number;
  tasksOther: number;
  tasksRunningAtEnd: number;
  launchLatencyMs: { p50: number; p99: number };
  offersSent: number;
  events: number;
  digest: string;
  violations: string[];
}

export function summarize(sim: Simulation): SimSummary {
  const sum = (pick: (f: Simulation['frameworks'][number]) => number) => sim.frameworks.reduce((n, f) => n + pick(f), 0);
  const latencies = sim.frameworks.flatMap((f) => f.stats.launchLatenciesMs).sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!);
  return {
    scenario: sim.scenario.name,
    seed: sim.scenario.seed,
    simulatedSeconds: sim.clock.monotonicMs() / 1000,
    agents: sim.agents.length,
    frameworks: sim.frameworks.length,
    tasksLaunched: sum((f) => f.stats.launched),
    tasksFinished: sum((f) => f.stats.finished),
    tasksFailed: sum((f) => f.stats.failed),
    tasksOther: sum((f) => f.stats.killed + f.stats.lost + f.stats.errors),
    tasksRunningAtEnd: sum((f) => f.active.size),
    launchLatencyMs: { p50: pct(0.5), p99: pct(0.99) },
    offersSent: sim.core.counters.get('master/offers_sent') ?? 0,
    events: sim.log.count,
    digest: sim.log.digest,
    violations: sim.violations,
  };
}
