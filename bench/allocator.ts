/**
 * Allocator benchmark (issue 3, perf-anchors T1/T1c): the time of one full allocation pass of
 * the pure allocator, in-process on a paused clock, as Mesos's allocator benchmarks run.
 *
 *   npx tsx bench/allocator.ts [--runs 7] [--only 10000x100x20]
 *
 * Each agent has 32 cpus, 128 GiB, 1 TiB and ports [31000-32000], and one static reservation
 * (2 cpus, 4 GiB) for one of the roles. With 20 roles, the roles are a tree (4 teams of 5
 * services: "team0/svc0"...), teams have weights 1, 2, 1, 3, team0 has a quota guarantee of 10%
 * of the cluster's cpus and mem and team1 a cpus limit of 30%. Frameworks are spread over the
 * leaf roles. Before measuring, refuse filters are installed on about 10% of (framework, agent)
 * pairs by declining offers with a day-long filter. A measured pass starts with every agent
 * free (all offers of the previous pass were declined without a filter), so it allocates every
 * agent: the most expensive pass there is. The empty row (T1c) is a pass with 3,000 roles with
 * quota over 3,000 agents that are fully allocated, so nothing is allocatable.
 *
 * Prints a table (median, p90 and max of the runs) and writes bench/results/allocator.json.
 * Beside wall time it records the process CPU time of each pass (user + system, GC threads
 * included): on a machine shared with other work, wall time counts the waits for a core too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Allocator } from '../src/allocator/index.js';
import type { Allocation } from '../src/allocator/index.js';
import { ManualClock, Prng } from '../src/base/index.js';
import { Resources } from '../src/resources/index.js';
import { REPO } from '../test/support/cluster.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    /** One shape only, e.g. "10000x100x20". */
    only: { type: 'string' },
  },
});
const runs = Number(flags.runs);

interface Shape {
  agents: number;
  frameworks: number;
  roles: 1 | 20;
}

interface Row extends Shape {
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  /** Process CPU time of a pass, median and minimum over the runs. */
  cpuMedianMs: number;
  cpuMinMs: number;
  runs: number;
  allocationsPerPass: number;
  filters: number;
  setupMs: number;
}

const DAY_SECONDS = 86_400;

function parse(text: string): Resources {
  const parsed = Resources.parse(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

function leafRoles(count: 1 | 20): string[] {
  if (count === 1) return ['web'];
  return Array.from({ length: 20 }, (_, i) => `team${i % 4}/svc${Math.floor(i / 4)}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs one pass, returning its allocations, wall ms and process CPU ms. */
function timedPass(allocator: Allocator): { out: Allocation[]; wallMs: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const out = allocator.allocate();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { out, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

function declineAll(allocator: Allocator, allocations: Allocation[], filterOne?: () => boolean): void {
  for (const a of allocations) {
    const refuse = filterOne?.() === true ? DAY_SECONDS : 0;
    allocator.recoverResources(a.frameworkId, a.agentId, a.resources, refuse);
  }
}

function measure(shape: Shape): Row {
  const setupStart = performance.now();
  const clock = new ManualClock();
  const prng = new Prng(42);
  const allocator = new Allocator({ clock, prng });
  const roles = leafRoles(shape.roles);
  const clusterCpus = shape.agents * 32;
  const clusterMem = shape.agents * 131_072;
  if (shape.roles === 20) {
    allocator.updateWeights([
      ['team1', 2],
      ['team3', 3],
    ]);
    allocator.updateQuota('team0', { guarantees: { cpus: clusterCpus * 0.1, mem: clusterMem * 0.1 } });
    allocator.updateQuota('team1', { limits: { cpus: clusterCpus * 0.3 } });
  }
  // Parsed per agent, as each agent's own registration would be: no memo is shared between agents.
  for (let i = 0; i < shape.agents; i++) {
    const role = roles[i % roles.length]!;
    allocator.addAgent(`a${i}`, { hostname: `h${i}` }, parse(`cpus:30;mem:126976;disk:1048576;ports:[31000-32000];cpus(${role}):2;mem(${role}):4096`));
  }
  for (let j = 0; j < shape.frameworks; j++) allocator.addFramework(`f${j}`, { roles: [roles[j % roles.length]!] });

  // Refuse filters on about 10% of (framework, agent) pairs.
  const wantedFilters = Math.round(0.1 * shape.frameworks * shape.agents);
  for (let round = 0; round < 200 && allocator.activeFilterCount() < wantedFilters; round++) {
    declineAll(allocator, allocator.allocate(), () => allocator.activeFilterCount() < wantedFilters && prng.next() < 0.5);
  }
  const setupMs = performance.now() - setupStart;

  const times: number[] = [];
  const cpus: number[] = [];
  let allocations = 0;
  for (let run = 0; run < runs + 2; run++) {
    const { out, wallMs, cpuMs } = timedPass(allocator);
    if (run >= 2) {
      // two warm-up passes
      times.push(wallMs);
      cpus.push(cpuMs);
    }
    allocations = out.length;
    declineAll(allocator, out);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return {
    ...shape,
    medianMs: percentile(times, 50),
    p90Ms: percentile(times, 90),
    maxMs: times[times.length - 1]!,
    cpuMedianMs: percentile(cpus, 50),
    cpuMinMs: cpus[0]!,
    runs,
    allocationsPerPass: allocations,
    filters: allocator.activeFilterCount(),
    setupMs,
  };
}

/** T1c: 3,000 roles with quota, 3,000 agents, nothing allocatable. */
function measureEmpty(): Row & { quotaRoles: number } {
  const setupStart = performance.now();
  const allocator = new Allocator({ clock: new ManualClock(), prng: new Prng(7) });
  const count = 3000;
  for (let i = 0; i < count; i++) allocator.updateQuota(`r${i}`, { guarantees: { cpus: 1 }, limits: { cpus: 64 } });
  for (let i = 0; i < count; i++) allocator.addAgent(`a${i}`, { hostname: `h${i}` }, parse('cpus:32;mem:131072'));
  for (let i = 0; i < count; i++) allocator.addFramework(`f${i}`, { roles: [`r${i}`] });
  allocator.allocate(); // takes everything
  const setupMs = performance.now() - setupStart;
  const times: number[] = [];
  const cpus: number[] = [];
  for (let run = 0; run < runs + 2; run++) {
    const { out, wallMs, cpuMs } = timedPass(allocator);
    if (out.length !== 0) throw new Error('the empty pass allocated something');
    if (run >= 2) {
      times.push(wallMs);
      cpus.push(cpuMs);
    }
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return {
    agents: count,
    frameworks: count,
    roles: 20,
    quotaRoles: count,
    medianMs: percentile(times, 50),
    p90Ms: percentile(times, 90),
    maxMs: times[times.length - 1]!,
    cpuMedianMs: percentile(cpus, 50),
    cpuMinMs: cpus[0]!,
    runs,
    allocationsPerPass: 0,
    filters: 0,
    setupMs,
  };
}

const shapes: Shape[] = [];
for (const agents of [1000, 10_000]) {
  for (const frameworks of [10, 100]) for (const roles of [1, 20] as const) shapes.push({ agents, frameworks, roles });
}
const selected = flags.only === undefined ? shapes : shapes.filter((s) => `${s.agents}x${s.frameworks}x${s.roles}` === flags.only);

const rows: Row[] = [];
const fmt = (ms: number) => ms.toFixed(1).padStart(8);
console.log(`node ${process.version}, ${runs} measured passes per shape (after 2 warm-up passes)\n`);
console.log('  agents  frameworks  roles   median ms    p90 ms    max ms  cpu med ms  cpu min ms  allocations  filters');
for (const shape of selected) {
  const row = measure(shape);
  rows.push(row);
  console.log(
    `${String(row.agents).padStart(8)}${String(row.frameworks).padStart(12)}${String(row.roles).padStart(7)}   ${fmt(row.medianMs)}  ${fmt(row.p90Ms)}  ${fmt(row.maxMs)}    ${fmt(row.cpuMedianMs)}    ${fmt(row.cpuMinMs)}  ${String(row.allocationsPerPass).padStart(11)}  ${String(row.filters).padStart(7)}`,
  );
}
let empty: ReturnType<typeof measureEmpty> | undefined;
if (flags.only === undefined || flags.only === 'empty') {
  empty = measureEmpty();
  console.log(`\nempty pass (T1c): 3000 agents, 3000 roles with quota, nothing allocatable: median ${empty.medianMs.toFixed(2)} ms, max ${empty.maxMs.toFixed(2)} ms`);
}

const target = rows.find((r) => r.agents === 10_000 && r.frameworks === 100 && r.roles === 20);
if (target !== undefined) {
  console.log(`\ngoal: <= 50 ms at 10000 x 100 x 20; median ${target.medianMs.toFixed(1)} ms wall, ${target.cpuMedianMs.toFixed(1)} ms CPU`);
}

const dir = join(REPO, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, 'allocator.json'),
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), runs, loadAverage: os.loadavg(), rows, empty }, null, 2)}\n`,
);
console.log(`wrote ${join('bench', 'results', 'allocator.json')}`);
