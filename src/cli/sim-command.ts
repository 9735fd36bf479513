/**
 * `agora sim run SCENARIO`: runs a scenario file through the simulator (the real master core and
 * allocator with hollow agents and synthetic frameworks, in virtual time), printing progress
 * and a summary. Exits 1 when an invariant broke, so CI can run scenarios as tests.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { AgoraError } from '../base/index.js';
import { parseJsonLenient } from '../api/index.js';
import { Simulation, parseScenario, summarize } from '../sim/index.js';
import type { SimSummary } from '../sim/index.js';
import { simAgentsCommand } from './sim-agents-command.js';

export function simCommand(): Command {
  const sim = new Command('sim').description('Simulate a cluster: hollow agents and synthetic frameworks against the real master core.');
  sim
    .command('run')
    .description('Run a scenario file (JSON) and print a summary; exit 1 if an invariant broke.')
    .argument('<scenario>', 'path to the scenario JSON file')
    .option('--seed <n>', 'override the scenario seed', (v) => parseSeed(v))
    .option('--json', 'print the summary as JSON')
    .action((file: string, opts: { seed?: number; json?: boolean }) => {
      const scenario = parseScenario({ ...readScenario(file), ...(opts.seed === undefined ? {} : { seed: opts.seed }) });
      const started = performance.now();
      const simulation = new Simulation(scenario);
      simulation.run((s) => {
        if (opts.json) return;
        const running = s.frameworks.reduce((n, f) => n + f.active.size, 0);
        const finished = s.frameworks.reduce((n, f) => n + f.stats.finished, 0);
        process.stdout.write(
          `  t=${(s.clock.monotonicMs() / 1000).toFixed(0)}s  running ${running}  finished ${finished}  wall ${((performance.now() - started) / 1000).toFixed(1)}s\n`,
        );
      });
      const summary = summarize(simulation);
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary, performance.now() - started));
      process.exitCode = summary.violations.length === 0 ? 0 : 1;
    });
  sim.addCommand(simAgentsCommand());
  return sim;
}

function readScenario(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `cannot read scenario ${file}: ${(err as Error).message}`);
  }
  try {
    return parseJsonLenient(text) as Record<string, unknown>;
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `scenario ${file} is not JSON: ${(err as Error).message}`);
  }
}

function parseSeed(value: string): number {
  if (!/^\d+$/.test(value)) throw new AgoraError('AGORA_ERR_VALIDATION', `--seed: "${value}" is not a non-negative integer`);
  return Number(value);
}

function formatSummary(s: SimSummary, wallMs: number): string {
  return [
    `scenario ${s.scenario} (seed ${s.seed}): ${s.simulatedSeconds}s simulated in ${(wallMs / 1000).toFixed(1)}s`,
    `  agents ${s.agents}, frameworks ${s.frameworks}, offers sent ${s.offersSent}, events ${s.events}`,
    `  tasks launched ${s.tasksLaunched}: finished ${s.tasksFinished}, failed ${s.tasksFailed}, other ${s.tasksOther}, running ${s.tasksRunningAtEnd}`,
    `  ACCEPT -> TASK_RUNNING p50 ${s.launchLatencyMs.p50.toFixed(1)} ms, p99 ${s.launchLatencyMs.p99.toFixed(1)} ms (simulated time)`,
    `  event digest ${s.digest}`,
    s.violations.length === 0 ? '  invariants: all held' : `  INVARIANTS BROKEN (${s.violations.length}):\n${s.violations.map((v) => `    - ${v}`).join('\n')}`,
    '',
  ].join('\n');
}
