/**
 * The chaos run (issue 6, item 5): frameworks launch and kill tasks on a real HA cluster while a
 * seeded schedule `kill -9`s agents, the leading master and etcd members and restarts them; at
 * the end everything comes back, the frameworks reconcile, and ./checks.ts judges what they saw.
 * One seed gives one fault schedule and one workload; the cluster's own timing is real.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '../../src/base/index.js';
import { getJson, isAlive, sleep, waitUntil } from '../support/cluster.js';
import { endedButAlive, markerPidsOf, observe } from './observe.js';
import { type Verdict, type Violation, checkAll, isTerminal, taskKey, finalState } from './checks.js';
import { splitKnown } from './known-issues.js';
import { ChaosCluster } from './cluster.js';
import { FaultInjector, firstLines } from './faults.js';
import { ChaosFramework, type TaskTrack } from './framework.js';

export interface ChaosOptions {
  seed: number;
  /** How long faults are injected. */
  seconds: number;
  masters: number;
  agents: number;
  /** Frameworks, cycling through the four kinds (partition-aware or not, checkpointing or not). */
  frameworks: number;
  /** Mean pause between two faults. */
  meanFaultGapMs: number;
  /** Write the report as JSON here too. */
  reportFile?: string;
  print?: (line: string) => void;
}

export interface ChaosAction {
  atMs: number;
  what: string;
  pid?: number;
}

export interface ChaosReport {
  seed: number;
  seconds: number;
  actions: ChaosAction[];
  tasks: {
    launched: number;
    /** Tasks whose framework sent KILL. */
    killsSent: number;
    /** Tasks that ever got TASK_LOST or TASK_UNREACHABLE, and of those, the ones that came back RUNNING. */
    lostOrUnreachable: number;
    cameBack: number;
    /** How many tasks ended in each state (or still run: TASK_RUNNING). */
    atTheEnd: Record<string, number>;
  };
  acks: { accepted: number; failed: number };
  subscriptions: number;
  verdict: Verdict;
  /** Tasks whose final reconciliation got no answer. */
  unanswered: string[];
  /** Agents or masters that could not be started again after a kill (with why). */
  restartFailures: string[];
  agentKills: Array<{ agent: string; agentId?: string; atMs: number }>;
  /** Violations of a known, reported bug (./known-issues.ts), each with the reason it is known. */
  known: Array<Violation & { reason: string }>;
  /** The rest: what a run must not have. */
  violations: Violation[];
  frameworkErrors: string[];
  /** What the frameworks received for each task that failed a check, to tell what happened. */
  failedTasks: Array<{ task: string; kind: string; launchAnswer: string; killRequested: boolean; updates: string[]; final: string }>;
}

/** Quiet time the cluster gets to converge after the faults: above two status update retries (10 s each). */
const CONVERGE_MS = 30_000;

/** Runs the whole thing and returns the report; the caller decides what a violation means. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const print = options.print ?? ((line: string) => console.log(line));
  const startedAt = Date.now();
  const now = () => Date.now() - startedAt;
  const stamp = (ms: number) => `[${(ms / 1000).toFixed(3).padStart(8)}s]`;
  const actions: ChaosAction[] = [];
  const act = (what: string, pid?: number) => {
    const action = { atMs: now(), what, ...(pid === undefined ? {} : { pid }) };
    actions.push(action);
    print(`${stamp(action.atMs)} ${what}${pid === undefined ? '' : ` (pid ${pid})`}`);
  };
  const note = (line: string) => print(`${stamp(now())}   ${line}`);

  print(`chaos: seed ${options.seed}, ${options.seconds} s of faults, ${options.masters} masters, ${options.agents} agents, ${options.frameworks} frameworks`);
  const cluster = await ChaosCluster.start({ masters: options.masters, agents: options.agents });
  mkdirSync(cluster.markerDir, { recursive: true });
  act(`started etcd (3 members: pids ${cluster.etcd.members.map((m) => m.process?.pid).join(', ')})`);
  for (const m of cluster.masters) act(`started ${m.name} at ${m.daemon!.url}`, m.daemon!.pid);
  for (const a of cluster.agents) act(`started ${a.name} at ${a.daemon!.url}`, a.daemon!.pid);

  const prng = new Prng(options.seed);
  const kinds = [
    { partitionAware: true, checkpoint: true },
    { partitionAware: false, checkpoint: true },
    { partitionAware: true, checkpoint: false },
    { partitionAware: false, checkpoint: false },
  ];
  const frameworks = Array.from({ length: options.frameworks }, (_, i) => {
    const kind = kinds[i % kinds.length]!;
    return new ChaosFramework({
      name: `fw${i}-${kind.partitionAware ? 'pa' : 'legacy'}-${kind.checkpoint ? 'ckpt' : 'nockpt'}`,
      master: cluster.etcd.url,
      ...kind,
      seed: options.seed * 1000 + i,
      markerDir: cluster.markerDir,
      maxActive: 6,
      log: note,
      nowMs: now,
    });
  });
  let report: ChaosReport | undefined;
  try {
    await Promise.all(frameworks.map((f) => f.start()));

    // ---- faults ------------------------------------------------------------------------
    const faultsUntil = now() + options.seconds * 1000;
    const faults = new FaultInjector(cluster, prng, act, note, 5_000, now);
    let nextTick = now() + 1_000;
    while (now() < faultsUntil) {
      await sleep(Math.max(0, Math.min(nextTick, faultsUntil) - now()));
      if (now() >= faultsUntil) break;
      // Each second: each framework kills one of its tasks half the time; a fault comes about
      // every meanFaultGapMs.
      for (const f of frameworks) if (prng.next() < 0.5) void f.killOne().then((id) => id !== undefined && note(`${f.name}: KILL ${id}`));
      if (prng.next() < 1_000 / options.meanFaultGapMs) await faults.next();
      nextTick = now() + 1_000;
    }
    act('faults over: no more kills; waiting for restarts');
    await faults.settle();
    for (const f of frameworks) f.quiesce();

    // ---- settle ------------------------------------------------------------------------
    // A process that cannot start again is a finding, not the end of the run: the rest is judged.
    const restartFailures = [...faults.failures];
    for (const a of cluster.agents) {
      if (a.daemon === undefined) await cluster.startAgent(a).catch((err: unknown) => restartFailures.push(`${a.name}: ${firstLines(err)}`));
    }
    for (const m of cluster.masters) {
      if (m.daemon === undefined) await cluster.startMaster(m).catch((err: unknown) => restartFailures.push(`${m.name}: ${firstLines(err)}`));
    }
    for (const failure of restartFailures) note(`could not restart ${failure}`);
    let leaderUrl = '';
    await waitUntil(
      async () => {
        const leader = await cluster.leader(1_000);
        if (leader?.daemon === undefined) return false;
        const ids = await Promise.all(cluster.agents.filter((a) => a.daemon !== undefined).map((a) => cluster.agentId(a)));
        if (ids.some((id) => id === undefined)) return false;
        const state = await getJson<{ slaves: Array<{ id: string; active: boolean }> }>(`${leader.daemon.url}/master/state`);
        leaderUrl = leader.daemon.url;
        return ids.every((id) => state.slaves.some((s) => s.id === id && s.active));
      },
      30_000,
      'a leader with every agent registered and active',
    );
    note(`settled: leader ${leaderUrl}, every agent that runs registered`);
    await waitUntil(() => frameworks.every((f) => f.connected), 20_000, 'every framework subscribed');
    // Short tasks run up to ~3 s; agents re-send what was not acknowledged when they re-register.
    await waitUntil(
      () => frameworks.every((f) => [...f.tasks.values()].every((t) => t.kind === 'long' || t.deliveries.some((d) => isTerminal(d.state)) || now() - t.launchedAtMs > 8_000)),
      15_000,
      'the short tasks to end',
    ).catch((err: unknown) => note(String(err)));

    // ---- final reconciliation and observation -------------------------------------------
    // Mesos promises delivery, not promptness: an update the master dropped while its framework
    // was away is re-sent on the agent's next retry (10 s). So the cluster gets a bounded quiet
    // time to agree with itself, observed again every couple of seconds, before it is judged.
    const histories = frameworks.flatMap((f) => [...f.tasks.values()]);
    const convergeUntil = Date.now() + CONVERGE_MS;
    let observation = await observe(cluster, frameworks, 20_000);
    for (;;) {
      const pending = checkAll(histories, observation.finals).violations.filter((v) => v.check === 'final-state');
      if ((pending.length === 0 && observation.unanswered.length === 0) || Date.now() > convergeUntil) break;
      note(`not settled yet (${pending.length} tasks: ${pending.slice(0, 3).map((v) => `${v.framework}/${v.taskId} ${v.detail}`).join('; ')}); observing again`);
      await sleep(2_000);
      observation = await observe(cluster, frameworks, 10_000);
    }
    const { finals, unanswered } = observation;
    note(`observed the end: ${unanswered.length} unanswered, ${endedButAlive(histories, finals).length} ended tasks with a live process`);

    const verdict = checkAll(histories, finals);
    const atTheEnd: Record<string, number> = {};
    for (const t of histories) {
      const state = finalState(t, finals.get(taskKey(t.framework, t.taskId))) ?? 'none';
      atTheEnd[state] = (atTheEnd[state] ?? 0) + 1;
    }
    const lostAt = (t: TaskTrack) => t.deliveries.findIndex((d) => d.state === 'TASK_LOST' || d.state === 'TASK_UNREACHABLE');
    report = {
      seed: options.seed,
      seconds: options.seconds,
      actions,
      tasks: {
        launched: histories.length,
        killsSent: histories.filter((t) => t.killRequested).length,
        lostOrUnreachable: histories.filter((t) => lostAt(t) >= 0).length,
        cameBack: histories.filter((t) => lostAt(t) >= 0 && t.deliveries.slice(lostAt(t)).some((d) => d.state === 'TASK_RUNNING')).length,
        atTheEnd,
      },
      acks: { accepted: frameworks.reduce((n, f) => n + f.acksAccepted, 0), failed: frameworks.reduce((n, f) => n + f.acksFailed, 0) },
      subscriptions: frameworks.reduce((n, f) => n + f.subscriptions, 0),
      verdict,
      unanswered,
      restartFailures,
      agentKills: faults.agentKills,
      ...splitKnown(verdict.violations, histories, faults.agentKills),
      frameworkErrors: frameworks.flatMap((f) => f.errors.map((e) => `${f.name}: ${e}`)),
      failedTasks: histories
        .filter((t) => verdict.violations.some((v) => v.framework === t.framework && v.taskId === t.taskId))
        .map((t) => {
          const final = finals.get(taskKey(t.framework, t.taskId))!;
          return {
            task: taskKey(t.framework, t.taskId),
            kind: t.kind,
            launchAnswer: t.launchAnswer,
            killRequested: t.killRequested,
            updates: t.deliveries.map(
              (d) =>
                `${(d.atMs / 1000).toFixed(3)}s ${d.state} ${d.source ?? ''} ${d.reason ?? ''} agent=${d.agentId ?? ''}` +
                `${d.uuid === undefined ? '' : ` uuid=${d.uuid.slice(0, 8)} ack=${d.ack ?? '-'}`}${d.message === undefined ? '' : ` "${d.message}"`}`,
            ),
            final: JSON.stringify({ ...final, liveAgentIds: [...final.liveAgentIds] }),
          };
        }),
    };
    printSummary(report, print);
    if (options.reportFile !== undefined) writeFileSync(options.reportFile, JSON.stringify({ ...report, histories }, null, 2));
    return report;
  } finally {
    for (const f of frameworks) f.stop();
    const started = markerPids(cluster.markerDir);
    await cluster.stop();
    killLeftovers(started, print);
    if (report === undefined) print(`chaos: seed ${options.seed} ended before its report (see the error)`);
  }
}


function printSummary(report: ChaosReport, print: (line: string) => void): void {
  const faults = report.actions.filter((a) => a.what.startsWith('kill -9'));
  const t = report.tasks;
  print(`chaos summary (seed ${report.seed}, ${report.seconds} s):`);
  print(`  faults: ${faults.length} (${['agent', 'master', 'etcd'].map((k) => `${faults.filter((a) => a.what.includes(k)).length} ${k}`).join(', ')})`);
  const ends = Object.entries(t.atTheEnd)
    .sort(([, a], [, b]) => b - a)
    .map(([state, n]) => `${n} ${state.replace('TASK_', '').toLowerCase()}`);
  print(`  tasks: ${t.launched} launched, KILL sent for ${t.killsSent}, ${t.lostOrUnreachable} lost or unreachable at some point (${t.cameBack} came back RUNNING)`);
  print(`  at the end: ${ends.join(', ')}`);
  print(`  acknowledgements: ${report.acks.accepted} accepted, ${report.acks.failed} failed; ${report.subscriptions} subscriptions`);
  for (const [check, { checked, failed }] of Object.entries(report.verdict.perCheck)) {
    print(`  check ${check.padEnd(13)} ${failed === 0 ? 'passed' : 'FAILED'} (${checked - failed}/${checked} tasks)`);
  }
  for (const v of report.known) print(`  KNOWN ISSUE ${v.check}: ${v.framework}/${v.taskId}: ${v.detail} (${v.reason})`);
  for (const v of report.violations) print(`  VIOLATION ${v.check}: ${v.framework}/${v.taskId}: ${v.detail}`);
  for (const failure of report.restartFailures) print(`  RESTART FAILED: ${failure}`);
  if (report.unanswered.length > 0) print(`  no final reconciliation answer for: ${report.unanswered.join(', ')}`);
  for (const e of report.frameworkErrors.slice(0, 20)) print(`  framework error: ${e}`);
  for (const t of report.failedTasks) {
    print(`  ${t.task} (${t.kind}, launch answered ${t.launchAnswer}${t.killRequested ? ', KILL sent' : ''}):`);
    for (const u of t.updates) print(`    ${u}`);
    print(`    final: ${t.final}`);
  }
}

/**
 * Task processes that outlived the cluster (the checks report them): killed by the pids they
 * wrote, so a failed run leaves nothing behind. The markers dir was removed with the cluster's
 * root, so the pids are read before that (see runChaos).
 */
function markerPids(dir: string): number[] {
  return existsSync(dir) ? readdirSync(dir).flatMap((file) => markerPidsOf(join(dir, file))) : [];
}

function killLeftovers(pids: number[], print: (line: string) => void): void {
  for (const pid of pids) {
    if (!isAlive(pid)) continue;
    print(`chaos: killing leftover task process ${pid}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
