/**
 * The chaos test's cluster: a three-member etcd on loopback, HA masters and agents as separate
 * `agora` processes following the leader through etcd. Agents keep their port and work dir
 * across restarts (a restarted agent is the same machine coming back). Every process is
 * stopped by the pid it was started with.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { leaderUrl } from '../../src/cli/scheduler-client.js';
import { getJson, tempDir } from '../support/cluster.js';
import { type EtcdCluster, freePort, startEtcdCluster } from '../support/etcd.js';
import { type Daemon, startDaemon } from '../support/processes.js';

/** Many Node processes start at once here on 2 cores: a daemon gets a minute to print its URL. */
const CHAOS_START = { startTimeoutMs: 60_000 };

export const AGENT_RESOURCES = 'cpus:4;mem:4096;disk:4096;ports:[31000-31999]';

export interface ChaosAgent {
  name: string;
  port: number;
  workDir: string;
  daemon: Daemon | undefined;
}

export interface ChaosMaster {
  name: string;
  workDir: string;
  daemon: Daemon | undefined;
}

export class ChaosCluster {
  readonly masters: ChaosMaster[] = [];
  readonly agents: ChaosAgent[] = [];
  private constructor(
    readonly etcd: EtcdCluster,
    readonly root: string,
  ) {}

  static async start(options: { masters: number; agents: number }): Promise<ChaosCluster> {
    const etcd = await startEtcdCluster(3);
    const cluster = new ChaosCluster(etcd, tempDir('chaos'));
    try {
      for (let i = 0; i < options.masters; i++) {
        cluster.masters.push({ name: `master${i}`, workDir: join(cluster.root, `master${i}`), daemon: undefined });
      }
      for (let i = 0; i < options.agents; i++) {
        cluster.agents.push({ name: `agent${i}`, port: await freePort(), workDir: join(cluster.root, `agent${i}`), daemon: undefined });
      }
      // Each kind at once: a Node process's start-up is mostly loading code. All are awaited,
      // so that a failed start stops every one that did start (none is left running).
      for (const started of [
        await Promise.allSettled(cluster.masters.map((m) => cluster.startMaster(m))),
        await Promise.allSettled(cluster.agents.map((a) => cluster.startAgent(a))),
      ]) {
        const failed = started.find((r) => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get markerDir(): string {
    return join(this.root, 'markers');
  }

  async startMaster(master: ChaosMaster): Promise<Daemon> {
    // Short timeouts, so an agent away for a few seconds is marked unreachable and its tasks come
    // back when it does (partition semantics). A killed agent's stream breaks, and a disconnected
    // agent is not pinged: the re-register timeout is what catches it (Mesos: 10 minutes, or the
    // pings' 75 s); pings catch an agent that holds its stream but stopped answering.
    const args = ['--registry', this.etcd.url, '--hostname', '127.0.0.1', '--allocation_interval', '200ms'];
    const timeouts = ['--agent_ping_timeout', '1secs', '--max_agent_ping_timeouts', '3', '--agent_reregister_timeout', '3secs'];
    master.daemon = await startDaemon(['master', '--port', '0', '--work_dir', master.workDir, ...args, ...timeouts], 'master', CHAOS_START);
    return master.daemon;
  }

  async startAgent(agent: ChaosAgent): Promise<Daemon> {
    // The same port as before: the master tells a restarted agent from a new one by its endpoint.
    const where = ['--master', this.etcd.url, '--port', String(agent.port), '--hostname', '127.0.0.1', '--work_dir', agent.workDir];
    const how = ['--resources', AGENT_RESOURCES, '--isolation', 'posix', '--executor_shutdown_grace_period', '1secs'];
    agent.daemon = await startDaemon(['agent', ...where, ...how], 'agent', CHAOS_START);
    return agent.daemon;
  }

  /** The master that etcd names leader now, if it is one of ours and answers within `timeoutMs`. */
  async leader(timeoutMs: number): Promise<ChaosMaster | undefined> {
    try {
      const url = await leaderUrl(this.etcd.url, timeoutMs);
      return this.masters.find((m) => m.daemon !== undefined && m.daemon.url === url);
    } catch {
      return undefined;
    }
  }

  /** The agent's id as its own /state says (undefined before it registered or while down). */
  async agentId(agent: ChaosAgent): Promise<string | undefined> {
    if (agent.daemon === undefined) return undefined;
    const state = await getJson<{ id?: string }>(`${agent.daemon.url}/state`).catch(() => undefined);
    return state?.id;
  }

  async stop(): Promise<void> {
    for (const agent of this.agents) await agent.daemon?.stop().catch(() => agent.daemon?.stop('SIGKILL'));
    for (const master of this.masters) await master.daemon?.stop().catch(() => master.daemon?.stop('SIGKILL'));
    await this.etcd.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}
