/**
 * A real etcd cluster on loopback for the HA tests (the OS package `etcd-server`): N members on
 * free ports with a temporary data dir, raft tuned as in runtime-recipes section 4 (heartbeat
 * 100 ms, election 1 s). Members are stopped by the pids they were started with.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from '../../src/http/index.js';
import { tempDir, waitUntil } from './cluster.js';

const exec = promisify(execFile);

/** Why the HA tests cannot run here (no etcd binary), or undefined when they can. */
export async function etcdUnavailable(): Promise<string | undefined> {
  const found = await exec('sh', ['-c', 'command -v etcd']).then(() => true, () => false);
  return found ? undefined : "'etcd' is not installed (apt-get install -y etcd-server)";
}

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  process: ChildProcess | undefined;
}

export interface EtcdCluster {
  /** `etcd://127.0.0.1:P1,127.0.0.1:P2,...` (with a per-test prefix if asked). */
  url: string;
  members: EtcdMember[];
  /** Signals one member (SIGKILL by default) and waits for it to exit. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped member again on its data dir. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** A port nobody listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startEtcdCluster(size = 3, prefix = ''): Promise<EtcdCluster> {
  const dir = tempDir('etcd');
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), process: undefined });
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const output = new Map<string, string>();

  const launch = (member: EtcdMember, state: 'new' | 'existing') => {
    const child = spawn(
      'etcd',
      [
        '--name', member.name,
        '--data-dir', join(dir, `${member.name}.data`),
        '--listen-client-urls', `http://127.0.0.1:${member.clientPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${member.clientPort}`,
        '--listen-peer-urls', `http://127.0.0.1:${member.peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${member.peerPort}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', state,
        '--initial-cluster-token', `agora-test-${process.pid}`,
        '--heartbeat-interval', '100',
        '--election-timeout', '1000',
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.on('data', (c: Buffer) => output.set(member.name, ((output.get(member.name) ?? '') + c.toString()).slice(-4000)));
    member.process = child;
  };
  const healthy = async (member: EtcdMember) => {
    try {
      const response = await request(`http://127.0.0.1:${member.clientPort}/health`, undefined, { timeoutMs: 1000 });
      return response.status === 200 && /"health":\s*"true"/.test(response.text);
    } catch {
      return false;
    }
  };
  const stopMember = async (member: EtcdMember, signal: NodeJS.Signals) => {
    const child = member.process;
    member.process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  for (const member of members) launch(member, 'new');
  const cluster: EtcdCluster = {
    url: `etcd://${members.map((m) => `127.0.0.1:${m.clientPort}`).join(',')}${prefix}`,
    members,
    kill: (index, signal = 'SIGKILL') => stopMember(members[index]!, signal),
    async restart(index) {
      launch(members[index]!, 'existing');
      await waitUntil(() => healthy(members[index]!), 15_000, `etcd member ${index} to be healthy again`);
    },
    async stop() {
      await Promise.all(members.map((m) => stopMember(m, 'SIGTERM')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitUntil(async () => (await Promise.all(members.map(healthy))).every(Boolean), 20_000, 'the etcd cluster to be healthy');
  } catch (err) {
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${[...output].map(([name, text]) => `${name}: ${text}`).join('\n')}`);
  }
  return cluster;
}
