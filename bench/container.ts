/**
 * Container launch benchmark: p50/p99 from launch to TASK_RUNNING for `agora local
 * --isolation posix` and `--isolation oci`, next to a bare `crun run` (and `crun create` +
 * `crun start`) of the very bundle the oci agent wrote, in the same run on the same machine.
 * Tasks run one at a time so the figures are latencies, not queueing. Writes
 * bench/results/container.json.
 *
 *   npx tsx bench/container.ts [--tasks 40] [--shape "cpus:0.1;mem:32"] [--source]
 *
 * Two latencies per mode: ACCEPT -> TASK_RUNNING as the framework sees it (master, offer,
 * agent, container), and TASK_STARTING -> TASK_RUNNING from the agent's own timestamps (the
 * container launch alone). The figure is oci's agent-side p50 over bare crun's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { TaskStatus } from '../src/api/index.js';
import { REPO, startCluster, stopCluster, type Cluster } from '../test/support/cluster.js';
import { commandTask, TestFramework } from '../test/support/framework.js';

const { values: flags } = parseArgs({
  options: {
    tasks: { type: 'string', default: '40' },
    shape: { type: 'string', default: 'cpus:0.1;mem:32' },
    source: { type: 'boolean', default: false },
  },
});
const taskCount = Number(flags.tasks);
const shape = flags.shape!;

interface Stats {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? NaN;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    samples: sorted.length,
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    max: round(sorted.at(-1) ?? NaN),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

interface ModeResult {
  acceptToRunningMs: Stats;
  startingToRunningMs: Stats;
  failures: string[];
}

/** Launches `taskCount` tasks running `true`, one after the other, and times each. */
async function measureMode(cluster: Cluster, name: string): Promise<ModeResult> {
  const fw = await TestFramework.subscribe({ master: cluster.master, name: `bench-container-${name}` });
  const acceptToRunning: number[] = [];
  const startingToRunning: number[] = [];
  const failures: string[] = [];
  try {
    for (let i = 0; i < taskCount + 2; i++) {
      const id = `${name}-${i}`;
      const offer = await fw.takeOffer(shape);
      const accepted = performance.now();
      await fw.launch([commandTask(id, 'true', { resources: shape })], offer);
      const running = await fw.waitForState(id, 'TASK_RUNNING', 30_000).catch(() => undefined);
      const runningAt = performance.now();
      const terminal = await fw.waitForTerminal(id, 30_000);
      if (running === undefined || terminal.state !== 'TASK_FINISHED') {
        failures.push(`${id}: ${terminal.state} ${terminal.message ?? ''}`);
        continue;
      }
      if (i < 2) continue; // warm-up: first offers, first bundle, page cache
      const starting = fw.statuses.get(id)!.find((s: TaskStatus) => s.state === 'TASK_STARTING')!;
      acceptToRunning.push(runningAt - accepted);
      startingToRunning.push((running.timestamp! - starting.timestamp!) * 1000);
    }
  } finally {
    await fw.teardown().catch(() => undefined);
  }
  return { acceptToRunningMs: stats(acceptToRunning), startingToRunningMs: stats(startingToRunning), failures };
}

/** Copies the config.json of a running oci task: the bundle every oci task of this shape gets. */
async function captureBundle(cluster: Cluster, into: string): Promise<Record<string, unknown>> {
  const fw = await TestFramework.subscribe({ master: cluster.master, name: 'bench-container-bundle' });
  try {
    await fw.launch([commandTask('bundle', 'sleep 30', { resources: shape })], await fw.takeOffer(shape));
    const running = await fw.waitForState('bundle', 'TASK_RUNNING', 30_000);
    const containerId = running.container_status!.container_id!.value;
    const source = join(cluster.workDir, 'agents', '0', 'runtime', 'containers', containerId, 'config.json');
    const config = JSON.parse(readFileSync(source, 'utf8')) as Record<string, unknown>;
    mkdirSync(into, { recursive: true });
    cpSync(source, join(into, 'config.json.orig'));
    await fw.client.kill('bundle');
    await fw.waitForTerminal('bundle', 30_000);
    return config;
  } finally {
    await fw.teardown().catch(() => undefined);
  }
}

interface BareResult {
  runtime: string;
  runMs: Stats;
  createStartMs: Stats;
}

/** `crun run` of the captured bundle, running `true` as the bench tasks do, and create + start. */
function measureBare(captured: Record<string, unknown>, dir: string): BareResult {
  const runtime = ['/usr/bin/crun', '/usr/bin/runc'].find((p) => existsSync(p))!;
  const sandbox = join(dir, 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  const config = structuredClone(captured) as {
    process: { args: string[]; cwd: string; env: string[] };
    mounts: Array<{ destination: string; source: string }>;
    linux: { cgroupsPath: string };
  };
  // The same command as the bench tasks; the sandbox moved to a directory of our own.
  const init = config.process.args[0] === '/dev/init' ? ['/dev/init', '--'] : [];
  config.process.args = [...init, '/bin/sh', '-c', 'true'];
  const oldSandbox = config.process.cwd;
  for (const m of config.mounts) if (m.source === oldSandbox) Object.assign(m, { source: sandbox, destination: sandbox });
  config.process.cwd = sandbox;
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle, { recursive: true });
  const root = join(dir, 'state');
  // stderr to a file, not a pipe: the container of `create` holds its stdio open until `start`.
  const errors = join(dir, 'stderr');
  const run = (args: string[]) => {
    const fd = openSync(errors, 'w');
    const r = spawnSync(runtime, ['--root', root, ...args], { stdio: ['ignore', 'ignore', fd], timeout: 30_000 });
    closeSync(fd);
    if (r.status !== 0) throw new Error(`${runtime} ${args.join(' ')}: ${r.signal ?? r.status} ${readFileSync(errors, 'utf8')}`);
  };
  const runMs: number[] = [];
  const createStartMs: number[] = [];
  const created: string[] = [];
  try {
    for (let i = 0; i < taskCount + 2; i++) {
      const id = `bench-bare-${process.pid}-${i}`;
      config.linux.cgroupsPath = `/agora-bench/${id}`;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      let t = performance.now();
      run(['run', '--bundle', bundle, id]);
      const ran = performance.now() - t;
      const id2 = `${id}-split`;
      config.linux.cgroupsPath = `/agora-bench/${id2}`;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      t = performance.now();
      created.push(id2);
      run(['create', '--bundle', bundle, id2]);
      run(['start', id2]);
      const started = performance.now() - t;
      // delete waits for nothing: `true` is done almost at once.
      for (let tries = 0; tries < 100; tries++) {
        const r = spawnSync(runtime, ['--root', root, 'delete', id2], { stdio: 'ignore' });
        if (r.status === 0) break;
        execFileSync('sleep', ['0.01']);
      }
      if (i < 2) continue;
      runMs.push(ran);
      createStartMs.push(started);
    }
  } finally {
    // A failed or interrupted run leaves no container behind.
    for (const id of created) spawnSync(runtime, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
  }
  for (const controller of ['cpu', 'cpuacct', 'memory', 'pids', 'hugetlb', 'blkio', 'cpuset', 'devices', 'freezer', 'systemd']) {
    spawnSync('rmdir', [`/sys/fs/cgroup/${controller}/agora-bench`], { stdio: 'ignore' });
  }
  spawnSync('rmdir', ['/sys/fs/cgroup/agora-bench'], { stdio: 'ignore' });
  return { runtime, runMs: stats(runMs), createStartMs: stats(createStartMs) };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the oci mode needs root');
  if (!flags.source) {
    const build = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: REPO,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('the build failed (see above); fix it or pass --source');
  }
  const resources = 'cpus:4;mem:4096;disk:4096';
  const scratch = mkdtempSync(join(os.tmpdir(), 'agora-bench-container-'));

  const posixCluster = await startCluster({ fromSource: flags.source, resources, isolation: 'posix' });
  let posix: ModeResult;
  try {
    posix = await measureMode(posixCluster, 'posix');
  } finally {
    await stopCluster(posixCluster);
  }

  const ociCluster = await startCluster({ fromSource: flags.source, resources, isolation: 'oci' });
  let oci: ModeResult;
  let bare: BareResult;
  let ociRuntime: string;
  try {
    ociRuntime = /containers run with (\S+)/.exec(ociCluster.stdout())?.[1] ?? '?';
    oci = await measureMode(ociCluster, 'oci');
    // While the agent is up: its bundle refers to its host-root skeleton.
    bare = measureBare(await captureBundle(ociCluster, scratch), scratch);
  } finally {
    await stopCluster(ociCluster);
    rmSync(scratch, { recursive: true, force: true });
  }

  const ratio = Math.round((oci.startingToRunningMs.p50 / bare.runMs.p50) * 100) / 100;
  const ratioSplit = Math.round((oci.startingToRunningMs.p50 / bare.createStartMs.p50) * 100) / 100;
  const report = {
    benchmark: 'container',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memMb: Math.round(os.totalmem() / 2 ** 20), loadavg: os.loadavg() },
    tasksPerMode: taskCount,
    command: 'true',
    shape,
    ociRuntime,
    daemon: flags.source ? 'src via tsx' : 'dist (built)',
    posix,
    oci,
    bare,
    figure: { ociAgentP50OverBareRunP50: ratio, ociAgentP50OverBareCreateStartP50: ratioSplit },
  };
  const row = (label: string, s: Stats) =>
    `  ${label.padEnd(44)}${String(s.p50).padStart(8)}${String(s.p90).padStart(8)}${String(s.p99).padStart(8)}${String(s.max).padStart(8)}`;
  console.log(
    [
      `agora container launch benchmark: ${taskCount} x 'true' (${shape}) per mode, one at a time; oci runs ${ociRuntime}`,
      `  load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cpus`,
      '',
      `  ${'latency (ms)'.padEnd(44)}${'p50'.padStart(8)}${'p90'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}`,
      row('posix: ACCEPT -> TASK_RUNNING', posix.acceptToRunningMs),
      row('posix: TASK_STARTING -> TASK_RUNNING (agent)', posix.startingToRunningMs),
      row('oci:   ACCEPT -> TASK_RUNNING', oci.acceptToRunningMs),
      row('oci:   TASK_STARTING -> TASK_RUNNING (agent)', oci.startingToRunningMs),
      row(`bare:  ${bare.runtime.split('/').at(-1)} run (create..exit..delete)`, bare.runMs),
      row(`bare:  ${bare.runtime.split('/').at(-1)} create + start`, bare.createStartMs),
      '',
      `  figure: oci agent-side p50 / bare run p50 = ${ratio}  (/ bare create + start p50 = ${ratioSplit})`,
      [...posix.failures, ...oci.failures].length > 0 ? `  failures: ${[...posix.failures, ...oci.failures].slice(0, 5).join('; ')}` : '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'container.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n  wrote ${join('bench', 'results', 'container.json')}`);
  process.exit(posix.failures.length + oci.failures.length > 0 ? 1 : 0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
