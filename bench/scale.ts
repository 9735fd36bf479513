/**
 * Scale benchmark of the master core (issue 7): for 1k..20k hollow agents with 100 frameworks
 * over 20 roles, in one process and virtual time, it measures
 *   - the allocation cycle (wall ms per batch pass, median and p99) once the cluster is busy,
 *   - task launches per wall second sustained while the cluster fills, and offers per second,
 *   - launch latency ACCEPT -> TASK_RUNNING in simulated time (zero network delay),
 *   - master heap per agent and per running task (the core alone, fed directly).
 * Prints a table and writes bench/results/scale.json.
 *
 *   node --expose-gc --import tsx bench/scale.ts [--agents 1000,5000,10000,20000] [--frameworks 100] [--roles 20]
 *        [--seconds 30] [--http-agents 1000] [--heap-only]   (npm run bench:scale -- ...)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ManualClock, Prng, SequentialIds } from '../src/base/index.js';
import { Allocator } from '../src/allocator/index.js';
import { DEFAULT_CORE_CONFIG, MasterCore } from '../src/master/core/index.js';
import { Resources } from '../src/resources/index.js';
import { SyntheticFramework, Simulation, parseScenario } from '../src/sim/index.js';
import { connectSyntheticFramework } from '../src/main/sim-http.js';
import { silentLogger } from '../src/main/logging.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000,5000,10000,20000' },
    frameworks: { type: 'string', default: '100' },
    roles: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    'http-agents': { type: 'string', default: '1000' },
    'http-seconds': { type: 'string', default: '20' },
    /** Only the heap figures (fast): no simulation, no HTTP run. */
    'heap-only': { type: 'boolean', default: false },
  },
});
const agentCounts = values.agents!.split(',').map(Number);
const frameworkCount = Number(values.frameworks);
const roleCount = Number(values.roles);
const simSeconds = Number(values.seconds);
const AGENT = 'cpus:32;mem:131072;disk:1000000;ports:[31000-32000]';
const TASK = 'cpus:1;mem:1024';
const HTTP_AGENT = 'cpus:4;mem:16384;disk:100000;ports:[31000-32000]';

const gc = (globalThis as { gc?: () => void }).gc;
function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** The busy cluster: frameworks keep ~10 tasks per agent running; short tasks keep offers flowing. */
function runSimulation(agents: number) {
  const perFramework = Math.ceil((agents * 10) / frameworkCount);
  const frameworks = Array.from({ length: roleCount }, (_, r) => ({
    name: `fw-r${r}`,
    count: Math.ceil(frameworkCount / roleCount),
    roles: [`role${r}`],
    workload: { kind: 'batch' as const, tasks: perFramework * 4, resources: TASK, durationSeconds: { min: 5, max: 15 } },
  }));
  const allocationMs: number[] = [];
  const sim = new Simulation(
    parseScenario({ name: `scale-${agents}`, seed: 7, durationSeconds: simSeconds, agents: [{ count: agents, resources: AGENT }], frameworks, checkInvariants: false, taskStartMs: { min: 1, max: 5 } }),
    { wallMs: () => performance.now(), onAllocation: (ms, timer) => timer === 'allocation:batch' && allocationMs.push(ms) },
  );
  const started = performance.now();
  let firstFullMs: number | undefined;
  const target = agents * 10;
  for (let t = 100; t <= simSeconds * 1000; t += 100) {
    sim.clock.runUntil(t);
    if (firstFullMs === undefined && sim.frameworks.reduce((n, f) => n + f.active.size, 0) >= target * 0.95) firstFullMs = performance.now();
  }
  const wallMs = performance.now() - started;
  const launched = sim.frameworks.reduce((n, f) => n + f.stats.launched, 0);
  const latencies = sim.frameworks.flatMap((f) => f.stats.launchLatenciesMs).sort((a, b) => a - b);
  const batchCycles = allocationMs.slice(Math.floor(allocationMs.length / 4)).sort((a, b) => a - b);
  return {
    launched,
    launchesPerSec: (launched / wallMs) * 1000,
    /** Launches per second of wall time spent inside the master core (the peers' own cost left out). */
    launchesPerCoreSec: (launched / sim.coreWallMs) * 1000,
    coreShare: sim.coreWallMs / wallMs,
    offersPerSec: ((sim.core.counters.get('master/offers_sent') ?? 0) / wallMs) * 1000,
    wallSeconds: wallMs / 1000,
    secondsToFill: firstFullMs === undefined ? NaN : (firstFullMs - started) / 1000,
    cycleMsP50: percentile(batchCycles, 0.5),
    cycleMsP99: percentile(batchCycles, 0.99),
    latencyMsP50: percentile(latencies, 0.5),
    latencyMsP99: percentile(latencies, 0.99),
  };
}

/** Heap of the master core alone: agents registered, then tasks launched and running. */
function measureHeap(agents: number, tasksPerAgent: number) {
  const clock = new ManualClock();
  const core = new MasterCore({
    clock,
    ids: new SequentialIds(1),
    allocator: new Allocator({ clock, prng: new Prng(1) }),
    config: { ...DEFAULT_CORE_CONFIG, masterInfo: { id: 'heap', ip: 0, port: 5050 } },
  });
  const total = (Resources.parse(AGENT) as Resources).toWire();
  const before = heapMb();
  const streams: string[] = [];
  for (let i = 0; i < agents; i++) {
    const outcome = core.subscribeAgent(`a${i}`, { agent_info: { hostname: `h${i}`, resources: total }, endpoint: { ip: '10.0.0.1', port: 10000 + i }, version: 'x' });
    streams.push('streamId' in outcome ? outcome.streamId : '');
    core.takeEffects();
  }
  const withAgents = heapMb();
  const sub = core.subscribeFramework('f', { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'heap', failover_timeout: 60 } } }, undefined);
  const streamId = 'streamId' in sub ? sub.streamId : '';
  const frameworkId = [...core.state.frameworks.keys()][0]!;
  core.takeEffects();
  core.timerFired('allocation:prompt');
  const taskResources = (Resources.parse(TASK) as Resources).toWire();
  let launched = 0;
  for (const effect of core.takeEffects()) {
    if (effect.kind !== 'frameworkEvent' || effect.event.type !== 'OFFERS') continue;
    for (const offer of effect.event.offers.offers) {
      const task_infos = Array.from({ length: tasksPerAgent }, () => {
        const id = `t${launched++}`;
        return { name: id, task_id: { value: id }, agent_id: offer.agent_id, resources: taskResources, command: { value: 'sleep 1000' } };
      });
      core.schedulerCall({ type: 'ACCEPT', framework_id: { value: frameworkId }, accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos } }] } }, streamId);
    }
  }
  // Every task reports RUNNING and the framework acknowledges it, as in steady state.
  const bytes = new Uint8Array(16);
  let n = 0;
  for (const effect of core.takeEffects()) {
    if (effect.kind !== 'agentEvent' || effect.event.type !== 'RUN_TASK') continue;
    const agentId = effect.event.run_task.task.agent_id.value;
    const agentIndex = Number(effect.connection.slice(1));
    new DataView(bytes.buffer).setUint32(12, n++);
    const uuid = Buffer.from(bytes).toString('base64');
    core.agentCall({ type: 'STATUS_UPDATE', agent_id: { value: agentId }, status_update: { framework_id: { value: frameworkId }, status: { task_id: effect.event.run_task.task.task_id, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid, timestamp: 1 } } }, streams[agentIndex]);
    core.schedulerCall({ type: 'ACKNOWLEDGE', framework_id: { value: frameworkId }, acknowledge: { agent_id: { value: agentId }, task_id: effect.event.run_task.task.task_id, uuid } }, streamId);
  }
  core.takeEffects();
  const withTasks = heapMb();
  const running = [...core.state.frameworks.values()][0]!.tasks.size;
  return { kibPerAgent: ((withAgents - before) * 1024) / agents, kibPerTask: ((withTasks - withAgents) * 1024) / running, running, keep: core };
}

const rows = [];
for (const agents of agentCounts) {
  const heap = measureHeap(agents, 10);
  if (values['heap-only']) {
    rows.push({ agents, kibPerAgent: heap.kibPerAgent, kibPerTask: heap.kibPerTask, heapTasks: heap.running });
    console.log(`${String(agents).padStart(6)} agents: heap ${heap.kibPerAgent.toFixed(2)} KiB/agent ${heap.kibPerTask.toFixed(2)} KiB/task (${heap.running} running tasks)`);
    continue;
  }
  const sim = runSimulation(agents);
  rows.push({ agents, frameworks: frameworkCount, roles: roleCount, ...sim, kibPerAgent: heap.kibPerAgent, kibPerTask: heap.kibPerTask, heapTasks: heap.running });
  const r = rows.at(-1)! as ReturnType<typeof runSimulation> & { agents: number; kibPerAgent: number; kibPerTask: number };
  console.log(
    `${String(agents).padStart(6)} agents: cycle p50 ${r.cycleMsP50.toFixed(1)} ms p99 ${r.cycleMsP99.toFixed(1)} ms | ` +
      `launches ${r.launchesPerSec.toFixed(0)}/s (core alone ${r.launchesPerCoreSec.toFixed(0)}/s, ${(r.coreShare * 100).toFixed(0)}% of wall) offers ${r.offersPerSec.toFixed(0)}/s (fill ${r.secondsToFill.toFixed(1)} s wall) | ` +
      `launch latency p50 ${r.latencyMsP50.toFixed(1)} ms p99 ${r.latencyMsP99.toFixed(1)} ms | heap ${r.kibPerAgent.toFixed(2)} KiB/agent ${r.kibPerTask.toFixed(2)} KiB/task`,
  );
}
const httpAgents = values['heap-only'] ? 0 : Number(values['http-agents']);
const http = httpAgents > 0 ? await runOverHttp(httpAgents, Number(values['http-seconds'])) : undefined;
if (http !== undefined) {
  console.log(
    `over HTTP, ${httpAgents} hollow agents in another process, ${http.frameworks} frameworks: ` +
      `${http.runningPerSec.toFixed(0)} tasks/s reached TASK_RUNNING, ACCEPT -> TASK_RUNNING p50 ${http.latencyMsP50.toFixed(1)} ms p99 ${http.latencyMsP99.toFixed(1)} ms, ` +
      `master cpu ${(http.masterCpuShare * 100).toFixed(0)}% of a core, master RSS ${http.masterRssMb.toFixed(0)} MB`,
  );
}
if (gc === undefined) console.log('(run with node --expose-gc for exact heap figures)');
console.log('goals at 10,000 agents: cycle <= 50 ms; >= 10,000 launches/s; <= 4 KiB/agent; <= 1.5 KiB/running task');
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scale.json', JSON.stringify({ node: process.version, date: new Date().toISOString(), rows, http }, null, 2));
console.log('wrote bench/results/scale.json');

/** A real `agora master`, hollow agents in a second process, synthetic frameworks here: all over loopback HTTP. */
async function runOverHttp(agents: number, seconds: number) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(os.tmpdir(), 'agora-scale-'));
  const children: ChildProcess[] = [];
  const start = (args: string[]) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  try {
    const master = start(['master', '--port', '0', '--work_dir', join(dir, 'master'), '--log_dir', dir]);
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      master.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = /http:\/\/(127\.0\.0\.1:\d+)/.exec(out);
        if (found) resolve(found[1]!);
      });
      master.once('exit', (code) => reject(new Error(`master exited ${code}`)));
    });
    // Small agents and short tasks: a bounded offered load (4 slots per agent, ~2 s each), so the
    // figure is the rate the wire sustains, not how long a 32-slots-per-agent burst takes to drain.
    start(['sim', 'agents', '--master', address, '--count', String(agents), '--resources', HTTP_AGENT]);
    for (let i = 0; i < 600; i++) {
      const metrics = (await (await fetch(`http://${address}/metrics/snapshot`)).json()) as Record<string, number>;
      if (metrics['master/slaves_active'] === agents) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const frameworkCount = 10;
    const logger = silentLogger();
    const connected = await Promise.all(
      Array.from({ length: frameworkCount }, (_, i) =>
        connectSyntheticFramework(
          address,
          (wire, timeline) =>
            new SyntheticFramework(`http-${i}`, ['*'], { kind: 'batch', tasks: 1_000_000, resources: TASK, durationSeconds: { min: 1, max: 3 }, failureRate: 0 }, timeline, new Prng(i), wire),
          logger,
        ),
      ),
    );
    const cpuBefore = cpuSeconds(master.pid!);
    await new Promise((r) => setTimeout(r, 5_000)); // Warm up: the cluster fills.
    const running = () => connected.reduce((n, c) => n + c.framework.stats.launchLatenciesMs.length, 0);
    const runningAtStart = running();
    const latencyStart = connected.map((c) => c.framework.stats.launchLatenciesMs.length);
    const measureStart = performance.now();
    const cpuStart = cpuSeconds(master.pid!);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsedSeconds = (performance.now() - measureStart) / 1000;
    const cpuUsed = cpuSeconds(master.pid!) - cpuStart;
    const latencies = connected.flatMap((c, i) => c.framework.stats.launchLatenciesMs.slice(latencyStart[i])).sort((a, b) => a - b);
    const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${master.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    for (const c of connected) c.close();
    void cpuBefore;
    return {
      agents,
      frameworks: frameworkCount,
      runningPerSec: (running() - runningAtStart) / elapsedSeconds,
      latencyMsP50: percentile(latencies, 0.5),
      latencyMsP99: percentile(latencies, 0.99),
      masterCpuShare: cpuUsed / elapsedSeconds,
      masterRssMb: rssMb,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
