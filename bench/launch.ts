/**
 * Launch benchmark: N trivial tasks (`true`) from one framework through a freshly started
 * `agora local` (a child process, real agent, real processes). Tasks are launched as offers
 * arrive, as many per offer as fit. Prints tasks/s and p50/p99 from ACCEPT to TASK_RUNNING and
 * to TASK_FINISHED, and writes bench/results/launch.json.
 *
 *   npm run bench:launch -- --tasks 200 [--shape "cpus:0.01;mem:1"] [--agent_resources R] [--allocation_interval 1secs]
 *                           [--local_args "--isolation posix"] [--keep] [--source]
 *
 * By default it first builds dist/ (tsc -p tsconfig.build.json) and runs the same `agora local`
 * that `npm start` runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Offer, Resource, TaskInfo } from '../src/api/index.js';
import { parseResourceSpec, scalarOf, formatResources } from '../src/cli/resources-spec.js';
import { SchedulerClient } from '../src/cli/scheduler-client.js';
import { REPO, startCluster, stopCluster, type Cluster } from '../test/support/cluster.js';

const { values: flags } = parseArgs({
  args: process.argv.slice(2).map((a) => a.replace(/^--(\w+)_/, (m) => m.replace(/_/g, '-'))),
  options: {
    tasks: { type: 'string', default: '200' },
    shape: { type: 'string', default: 'cpus:0.01;mem:1' },
    'agent-resources': { type: 'string' },
    /** Extra flags for `agora local`, e.g. "--isolation posix". */
    'local-args': { type: 'string' },
    'allocation-interval': { type: 'string' },
    'timeout-secs': { type: 'string', default: '300' },
    /** Keep the cluster's work dir (logs, sandboxes) for a look afterwards. */
    keep: { type: 'boolean', default: false },
    /** Run src/ through tsx instead of building dist/ first (tsx's loader thread slows spawns). */
    source: { type: 'boolean', default: false },
  },
});

const taskCount = Number(flags.tasks);
const shape: Resource[] = (() => {
  const parsed = parseResourceSpec(flags.shape!);
  if ('error' in parsed) throw new Error(`--shape: ${parsed.error}`);
  return parsed;
})();
const shapeCpus = scalarOf(shape, 'cpus');
const shapeMem = scalarOf(shape, 'mem');

interface Timing {
  acceptMs: number;
  startingMs?: number;
  runningMs?: number;
  finishedMs?: number;
  state?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    samples: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

/** How many tasks of the shape one offer holds (by cpus and mem, the shape's only scalars). */
function fits(offer: Offer): number {
  const byCpus = shapeCpus > 0 ? Math.floor((scalarOf(offer.resources, 'cpus') + 1e-9) / shapeCpus) : Infinity;
  const byMem = shapeMem > 0 ? Math.floor((scalarOf(offer.resources, 'mem') + 1e-9) / shapeMem) : Infinity;
  return Math.min(byCpus, byMem);
}

async function run(cluster: Cluster) {
  const timings = new Map<string, Timing>();
  let launched = 0;
  let done = 0;
  let acceptCalls = 0;
  let offersReceived = 0;
  let firstOfferMs: number | undefined;
  const offered: string[] = [];
  let resolveDone!: () => void;
  const allDone = new Promise<void>((r) => (resolveDone = r));
  const subscribeAt = performance.now();

  const client = await SchedulerClient.subscribe({
    master: cluster.master,
    frameworkInfo: { user: os.userInfo().username, name: 'bench-launch', capabilities: [{ type: 'PARTITION_AWARE' }] },
  });
  const failures: string[] = [];
  client.on((event) => {
    if (event.type === 'OFFERS') {
      for (const offer of event.offers.offers) {
        offersReceived++;
        firstOfferMs ??= performance.now() - subscribeAt;
        if (offered.length < 5) offered.push(formatResources(offer.resources));
        const n = Math.min(taskCount - launched, fits(offer));
        if (n <= 0) {
          client.decline([offer.id.value], { refuse_seconds: launched >= taskCount ? 3600 : 0.1 }).catch(() => undefined);
          continue;
        }
        const tasks: TaskInfo[] = [];
        for (let i = 0; i < n; i++) {
          const id = `bench-${launched + i}`;
          tasks.push({ name: id, task_id: { value: id }, agent_id: offer.agent_id, resources: shape, command: { shell: true, value: 'true' } });
        }
        launched += n;
        acceptCalls++;
        const acceptMs = performance.now();
        for (const t of tasks) timings.set(t.task_id.value, { acceptMs });
        client.launch(offer, tasks).catch((err: unknown) => failures.push(`ACCEPT: ${(err as Error).message}`));
      }
    } else if (event.type === 'UPDATE') {
      const status = event.update.status;
      const timing = timings.get(status.task_id.value);
      client.acknowledge(status).catch((err: unknown) => failures.push(`ACKNOWLEDGE: ${(err as Error).message}`));
      if (timing === undefined || timing.state !== undefined) return;
      const now = performance.now();
      if (status.state === 'TASK_STARTING') timing.startingMs ??= now - timing.acceptMs;
      if (status.state === 'TASK_RUNNING') timing.runningMs ??= now - timing.acceptMs;
      if (['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE'].includes(status.state)) {
        timing.state = status.state;
        timing.finishedMs = now - timing.acceptMs;
        if (status.state !== 'TASK_FINISHED') failures.push(`${status.task_id.value}: ${status.state} ${status.message ?? ''}`);
        if (++done === taskCount) resolveDone();
      }
    }
  });

  const timeoutMs = Number(flags['timeout-secs']) * 1000;
  const timedOut = await Promise.race([
    allDone.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
  ]);
  await client.teardown().catch(() => undefined);

  const all = [...timings.values()];
  const firstAccept = Math.min(...all.map((t) => t.acceptMs));
  const lastFinish = Math.max(...all.filter((t) => t.finishedMs !== undefined).map((t) => t.acceptMs + t.finishedMs!));
  const wallMs = lastFinish - firstAccept;
  return {
    timedOut,
    completed: done,
    failures,
    acceptCalls,
    offersReceived,
    firstOfferMs: firstOfferMs === undefined ? undefined : Math.round(firstOfferMs),
    offeredResources: offered,
    wallMs: Math.round(wallMs),
    tasksPerSecond: Math.round((done / (wallMs / 1000)) * 10) / 10,
    acceptToStartingMs: stats(all.flatMap((t) => (t.startingMs === undefined ? [] : [t.startingMs]))),
    acceptToRunningMs: stats(all.flatMap((t) => (t.runningMs === undefined ? [] : [t.runningMs]))),
    acceptToFinishedMs: stats(all.flatMap((t) => (t.finishedMs === undefined ? [] : [t.finishedMs]))),
  };
}

async function main() {
  if (!flags.source) {
    const build = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: REPO,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('the build failed (see above); fix it or pass --source');
  }
  const cluster = await startCluster({
    fromSource: flags.source,
    resources: flags['agent-resources'] ?? null,
    allocationInterval: flags['allocation-interval'] ?? null,
    extraArgs: (flags['local-args'] ?? '').split(' ').filter((a) => a !== ''),
  });
  let result;
  try {
    result = await run(cluster);
  } finally {
    if (flags.keep) {
      await cluster.stop();
      console.log(`kept ${cluster.workDir}`);
    } else {
      await stopCluster(cluster);
    }
  }
  const report = {
    benchmark: 'launch',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memMb: Math.round(os.totalmem() / 2 ** 20) },
    tasks: taskCount,
    command: 'true',
    shape: formatResources(shape),
    agents: 1,
    allocationInterval: flags['allocation-interval'] ?? '1secs (default)',
    daemon: flags.source ? 'src via tsx' : 'dist (built)',
    ...result,
  };
  const row = (label: string, s: ReturnType<typeof stats>) =>
    `  ${label.padEnd(26)}${String(s.p50).padStart(9)}${String(s.p90).padStart(9)}${String(s.p99).padStart(9)}${String(s.max).padStart(9)}`;
  console.log(
    [
      `agora launch benchmark: ${taskCount} x 'true' (${report.shape}), one framework, agora local with 1 agent`,
      `  allocation interval ${report.allocationInterval}; offers seen ${result.offersReceived}, ACCEPT calls ${result.acceptCalls}`,
      `  offer held: ${result.offeredResources[0] ?? 'none'}`,
      '',
      `  ${'latency (ms)'.padEnd(26)}${'p50'.padStart(9)}${'p90'.padStart(9)}${'p99'.padStart(9)}${'max'.padStart(9)}`,
      row('ACCEPT -> TASK_STARTING', result.acceptToStartingMs),
      row('ACCEPT -> TASK_RUNNING', result.acceptToRunningMs),
      row('ACCEPT -> TASK_FINISHED', result.acceptToFinishedMs),
      '',
      `  throughput: ${result.completed} tasks in ${(result.wallMs / 1000).toFixed(2)} s (first ACCEPT -> last terminal update) = ${result.tasksPerSecond} tasks/s`,
      `  SUBSCRIBE -> first offer: ${result.firstOfferMs ?? '-'} ms`,
      result.timedOut ? `  TIMED OUT: ${result.completed}/${taskCount} tasks ended` : '',
      result.failures.length > 0 ? `  failures (${result.failures.length}): ${result.failures.slice(0, 5).join('; ')}` : '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'launch.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n  wrote ${join('bench', 'results', 'launch.json')}`);
  process.exit(result.timedOut || result.failures.length > 0 ? 1 : 0);
}

void main().catch((err: unknown) => {
  console.error(`bench:launch: ${(err as Error).message}`);
  process.exit(1);
});
