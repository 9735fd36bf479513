/**
 * The chaos run's faults: `kill -9` of an agent, of the leading master or of an etcd member,
 * each restarted after a seeded pause (agents on their work dir and port). At most one master
 * and one etcd member are down at a time, so a leader and a quorum can always come back. The
 * first faults cover each kind once, in a seeded order, so even a short run has all three.
 */
import type { Prng } from '../../src/base/index.js';
import { sleep } from '../support/cluster.js';
import type { ChaosCluster } from './cluster.js';

export type Fault = 'agent' | 'master' | 'etcd';

export class FaultInjector {
  private readonly restarts: Array<Promise<void>> = [];
  /** Restarts that failed, with why: the process stays down (the run goes on without it). */
  readonly failures: string[] = [];
  /** Every agent kill: when, and the id the agent had then (read from its /state just before). */
  readonly agentKills: Array<{ agent: string; agentId?: string; atMs: number }> = [];
  private etcdDown = false;
  private masterDown = false;
  /** Faults still owed: each kind once first, and any that could not be done when drawn. */
  private readonly owed: Fault[];

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly prng: Prng,
    private readonly act: (what: string, pid?: number) => void,
    private readonly note: (line: string) => void,
    private readonly maxDownMs: number,
    private readonly nowMs: () => number,
  ) {
    this.owed = prng.shuffle<Fault>(['agent', 'master', 'etcd']);
  }

  /** Injects the next fault (owed, else drawn: agents half the time). */
  async next(): Promise<void> {
    const roll = this.prng.next();
    const fault = this.owed.shift() ?? (roll < 0.5 ? 'agent' : roll < 0.75 ? 'master' : 'etcd');
    const downMs = 500 + this.prng.int(this.maxDownMs);
    const done = fault === 'agent' ? await this.killAgent(downMs) : fault === 'master' ? await this.killLeader(downMs) : await this.killEtcdMember(downMs);
    if (!done) this.owed.unshift(fault);
  }

  /** Waits for every pending restart. */
  async settle(): Promise<void> {
    await Promise.all(this.restarts);
  }

  private later(delayMs: number, name: string, what: () => Promise<void>): void {
    this.restarts.push(
      sleep(delayMs)
        .then(what)
        .catch((err: unknown) => {
          this.failures.push(`${name}: ${firstLines(err)}`);
          this.note(`restart of ${name} failed: ${firstLines(err)}`);
        }),
    );
  }

  private async killAgent(downMs: number): Promise<boolean> {
    const up = this.cluster.agents.filter((a) => a.daemon !== undefined);
    if (up.length === 0) {
      this.note('skip: every agent is down already');
      return false;
    }
    const agent = up[this.prng.int(up.length)]!;
    const agentId = await this.cluster.agentId(agent);
    const daemon = agent.daemon!;
    agent.daemon = undefined;
    this.agentKills.push({ agent: agent.name, ...(agentId === undefined ? {} : { agentId }), atMs: this.nowMs() });
    this.act(`kill -9 ${agent.name}${agentId === undefined ? '' : ` (${agentId})`}`, daemon.pid);
    await daemon.stop('SIGKILL');
    this.later(downMs, agent.name, async () => {
      const started = await this.cluster.startAgent(agent);
      this.act(`restarted ${agent.name} on its work dir and port ${agent.port}`, started.pid);
    });
    return true;
  }

  private async killLeader(downMs: number): Promise<boolean> {
    const leader = this.masterDown ? undefined : await this.cluster.leader(1_000);
    if (leader?.daemon === undefined) {
      this.note(this.masterDown ? 'skip: a master is down already' : 'skip: no leader to kill now');
      return false;
    }
    const daemon = leader.daemon;
    leader.daemon = undefined;
    this.masterDown = true;
    this.act(`kill -9 the leading master ${leader.name} (${daemon.url})`, daemon.pid);
    await daemon.stop('SIGKILL');
    this.later(downMs, leader.name, async () => {
      const started = await this.cluster.startMaster(leader);
      this.masterDown = false;
      this.act(`restarted ${leader.name} at ${started.url}`, started.pid);
    });
    return true;
  }

  private async killEtcdMember(downMs: number): Promise<boolean> {
    if (this.etcdDown) {
      this.note('skip: an etcd member is down already');
      return false;
    }
    const index = this.prng.int(this.cluster.etcd.members.length);
    const pid = this.cluster.etcd.members[index]!.process?.pid;
    this.etcdDown = true;
    this.act(`kill -9 etcd member m${index}`, pid);
    await this.cluster.etcd.kill(index, 'SIGKILL');
    this.later(downMs, `etcd member m${index}`, async () => {
      await this.cluster.etcd.restart(index);
      this.etcdDown = false;
      this.act(`restarted etcd member m${index}`, this.cluster.etcd.members[index]!.process?.pid);
    });
    return true;
  }
}

/** An error's first line, and the line where `agora` says why it exited (the rest is its log). */
export function firstLines(err: unknown): string {
  const lines = (err as Error).message.split('\n');
  const reason = lines.slice(1).find((line) => line.startsWith('agora '));
  return `${lines[0]}${reason === undefined ? '' : `: ${reason.slice(0, 600)}`}`;
}
