/**
 * Agent recovery benchmark (issue 6, item 6): one `agora master` and one `agora agent` as
 * processes, a checkpointing framework with several long tasks on the agent. Each run
 * `kill -9`s the agent and starts it again on its work dir and port (as a supervisor would), and
 * measures from the kill:
 *   - recovery:       the agent's own recovery, as it logs it (checkpoint read, containers reattached);
 *   - agent up:       the new agent process is started and recovered (mostly Node's start-up);
 *   - re-registered:  the master shows the agent, same id, re-registered after the kill;
 *   - reconciled:     explicit reconciliation of every task, asked after the re-registration,
 *                     answers TASK_RUNNING for all of them.
 * Tasks survive every run (their pids do not change). Prints a table and writes
 * bench/results/agent-recovery-<isolation>.json.
 *
 *   npx tsx bench/agent-recovery.ts [--runs 8] [--tasks 5] [--isolation posix|oci] [--no-build]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FrameworkInfo, TaskStatus } from '../src/api/index.js';
import { SchedulerClient } from '../src/cli/scheduler-client.js';
import { REPO, getJson, tempDir, waitUntil } from '../test/support/cluster.js';
import { type Daemon, startAgentProcess, startMasterProcess } from '../test/support/processes.js';

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runs: { type: 'string', default: '8' },
    tasks: { type: 'string', default: '5' },
    isolation: { type: 'string', default: 'posix' },
    'no-build': { type: 'boolean', default: false },
  },
});

interface Run {
  run: number;
  /** The agent's own recovery (reading the checkpoint, reattaching containers), from its log. */
  recoveryMs: number;
  agentUpMs: number;
  reregisteredMs: number;
  reconciledMs: number;
}

const RESOURCES = 'cpus:4;mem:2048;disk:1000;ports:[31000-31100]';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  if (!flags['no-build']) {
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const runs = Number(flags.runs);
  const taskCount = Number(flags.tasks);
  const isolation = flags.isolation!;
  const masterDir = tempDir('bench-recovery-master');
  const agentDir = tempDir('bench-recovery-agent');
  let master: Daemon | undefined;
  let agent: Daemon | undefined;
  let client: SchedulerClient | undefined;
  const results: Run[] = [];
  try {
    master = await startMasterProcess(masterDir, ['--hostname', '127.0.0.1']);
    agent = await startAgentProcess(master.hostPort, agentDir, RESOURCES, ['--isolation', isolation, '--hostname', '127.0.0.1']);
    const agentFlags = ['--isolation', isolation, '--hostname', '127.0.0.1', '--port', agent.hostPort.split(':')[1]!];

    const info: FrameworkInfo = { user: os.userInfo().username, name: 'recovery-bench', checkpoint: true, failover_timeout: 600 };
    const latest = new Map<string, TaskStatus>();
    client = await SchedulerClient.subscribe({
      master: master.hostPort,
      frameworkInfo: info,
      onEvent: (e) => {
        if (e.type !== 'UPDATE') return;
        latest.set(e.update.status.task_id.value, e.update.status);
        if (e.update.status.uuid !== undefined) void client?.acknowledge(e.update.status).catch(() => undefined);
      },
    });
    const offer = await client.waitFor((e) => (e.type === 'OFFERS' ? e.offers.offers[0] : undefined), 30_000, 'a first offer');
    const agentId = offer.agent_id.value;
    const taskIds = Array.from({ length: taskCount }, (_, i) => `sleeper-${i}`);
    await client.launch(
      offer,
      taskIds.map((id) => ({
        name: id,
        task_id: { value: id },
        agent_id: offer.agent_id,
        resources: [
          { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } },
          { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 } },
        ],
        command: { value: 'exec sleep 3600' },
      })),
    );
    await waitUntil(() => taskIds.every((id) => latest.get(id)?.state === 'TASK_RUNNING'), 30_000, 'every task RUNNING');

    for (let run = 1; run <= runs; run++) {
      await sleep(300); // Acknowledgements settle.
      const killedAt = Date.now();
      await agent.stop('SIGKILL');
      agent = await startAgentProcess(master.hostPort, agentDir, RESOURCES, agentFlags);
      const agentUpMs = Date.now() - killedAt;
      let reregisteredMs = NaN;
      await waitUntil(
        async () => {
          const slaves = (await getJson<{ slaves: Array<{ id: string; active: boolean; reregistered_time?: number }> }>(`${master!.url}/master/slaves`)).slaves;
          const back = slaves.find((s) => s.id === agentId);
          if (back?.active !== true || back.reregistered_time === undefined || back.reregistered_time * 1000 < killedAt) return false;
          reregisteredMs = Date.now() - killedAt;
          return true;
        },
        30_000,
        'the agent re-registered with its id',
      );
      // Only answers that come after the re-registration count.
      for (const id of taskIds) latest.delete(id);
      const answered = () => taskIds.every((id) => latest.get(id)?.state === 'TASK_RUNNING' && latest.get(id)?.agent_id?.value === agentId);
      while (!answered()) {
        const bad = taskIds.map((id) => latest.get(id)).find((s) => s !== undefined && s.state !== 'TASK_RUNNING');
        if (bad !== undefined) throw new Error(`task ${bad.task_id.value} was reconciled ${bad.state}: ${bad.message ?? ''}`);
        await client.reconcile(taskIds.map((taskId) => ({ taskId, agentId })));
        await sleep(20);
      }
      const reconciledMs = Date.now() - killedAt;
      const logged = agent
        .stderr()
        .split('\n')
        .map((l) => /"durationMs":(\d+).*"msg":"recovered the checkpointed agent"/.exec(l)?.[1])
        .find((d) => d !== undefined);
      const result = { run, recoveryMs: Number(logged ?? NaN), agentUpMs, reregisteredMs, reconciledMs };
      results.push(result);
      console.log(`run ${run}: ${JSON.stringify(result)}`);
    }
  } finally {
    client?.close();
    await agent?.stop().catch(() => undefined); // A graceful stop kills the tasks.
    await master?.stop().catch(() => undefined);
    rmSync(masterDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  }
  report(results, { isolation, tasks: taskCount });
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor((sorted.length - 1) / 2)]!, max: sorted[sorted.length - 1]! };
}

function report(results: Run[], setup: { isolation: string; tasks: number }): void {
  const columns = ['recoveryMs', 'agentUpMs', 'reregisteredMs', 'reconciledMs'] as const;
  const header = ['run', 'recovery (in agent)', 'agent up', 'agent re-registered', 'tasks reconciled RUNNING'];
  const rows = results.map((r) => [String(r.run), ...columns.map((c) => `${r[c]} ms`)]);
  const summary = Object.fromEntries(columns.map((c) => [c, stats(results.map((r) => r[c]))]));
  rows.push(['median', ...columns.map((c) => `${summary[c]!.median} ms`)], ['max', ...columns.map((c) => `${summary[c]!.max} ms`)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(`\nagent kill -9 and restart, ${setup.tasks} tasks, ${setup.isolation} (times from the kill)`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  const outDir = join(REPO, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `agent-recovery-${setup.isolation}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'agent-recovery', date: new Date().toISOString(), cpus: os.cpus().length, ...setup, runs: results, summary }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
