/**
 * Composition root of a master: the HTTP server, the core with a real clock and random ids,
 * the allocator, and the runtime that joins them. `agora master` and `agora local` call this.
 */
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import { AgoraError, Prng } from '../base/index.js';
import type { Clock } from '../base/index.js';
import { AGORA_VERSION } from '../api/index.js';
import type { MasterInfo } from '../api/index.js';
import { Allocator } from '../allocator/index.js';
import { createHttpServer } from '../http/index.js';
import {
  DEFAULT_CORE_CONFIG,
  FileRegistry,
  MasterCore,
  MasterRuntime,
  registerAgentLink,
  registerMasterEndpoints,
  registerOperatorApi,
  registerRoleEndpoints,
  registerSchedulerApi,
} from '../master/index.js';
import type { MasterDescription } from '../master/index.js';

export interface MasterConfig {
  ip: string;
  /** 0 picks a free port. */
  port: number;
  hostname?: string;
  workDir: string;
  allocationIntervalMs: number;
  logger: Logger;
  /** Overrides for tests: HEARTBEAT period and agent ping timeout. */
  heartbeatIntervalMs?: number;
  agentPingTimeoutMs?: number;
}

export interface MasterHandle {
  url: string;
  stop(): Promise<void>;
}

export const realClock: Clock = {
  monotonicMs: () => performance.now(),
  realtimeMs: () => Date.now(),
};

export async function startMaster(config: MasterConfig): Promise<MasterHandle> {
  if (!(config.allocationIntervalMs > 0)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', '--allocation_interval must be a positive duration, such as "1secs"');
  }
  const log = config.logger;
  // The registry is read before anything is served: a master must not answer with what it forgot.
  const registry = new FileRegistry(config.workDir);
  const recovered = await registry.load();
  log.info({ registry: registry.path, weights: recovered.weights.length, quotaConfigs: recovered.quota_configs.length }, 'registry recovered');
  const app = createHttpServer({ logger: log });
  // Routes are registered before listening, but the core needs the bound port: they reach it here.
  const started: { runtime?: MasterRuntime; description?: MasterDescription } = {};
  const ready = () => {
    if (started.runtime === undefined) throw new AgoraError('AGORA_ERR_UNAVAILABLE', 'Master has not finished starting');
    return started.runtime;
  };
  registerSchedulerApi(app, ready);
  registerAgentLink(app, ready);
  registerMasterEndpoints(app, () => ready().core, () => started.description!);
  registerOperatorApi(app, ready, () => started.description!);
  registerRoleEndpoints(app, ready);

  try {
    await app.listen({ host: config.ip, port: config.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? '; is another master running? pick another --port' : '';
    throw new AgoraError('AGORA_ERR_VALIDATION', `cannot listen on ${config.ip}:${config.port}: ${(err as Error).message}${hint}`);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const hostname = config.hostname ?? osHostname();
  const id = randomUUID();
  const startTimeMs = Date.now();
  const masterInfo: MasterInfo = {
    id,
    ip: ipv4ToUint32(config.ip),
    port,
    pid: `master@${config.ip}:${port}`,
    hostname,
    version: AGORA_VERSION,
    address: { hostname, ip: config.ip, port },
    capabilities: [{ type: 'AGENT_UPDATE' }],
  };
  const description: MasterDescription = {
    id,
    hostname,
    ip: config.ip,
    port,
    version: AGORA_VERSION,
    startTimeMs,
    electedTimeMs: startTimeMs,
    buildDate: new Date(startTimeMs).toISOString(),
    flags: {
      ip: config.ip,
      port: String(port),
      hostname,
      work_dir: config.workDir,
      allocation_interval: `${config.allocationIntervalMs}ms`,
      agent_ping_timeout: `${config.agentPingTimeoutMs ?? DEFAULT_CORE_CONFIG.agentPingTimeoutMs}ms`,
      max_agent_ping_timeouts: String(DEFAULT_CORE_CONFIG.maxAgentPingTimeouts),
    },
  };
  const allocator = new Allocator({ clock: realClock, prng: new Prng(Number.parseInt(id.slice(0, 8), 16)) });
  const core = new MasterCore({
    clock: realClock,
    ids: { uuid: () => randomUUID() },
    allocator,
    config: {
      ...DEFAULT_CORE_CONFIG,
      masterInfo,
      allocationIntervalMs: config.allocationIntervalMs,
      ...(config.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: config.heartbeatIntervalMs }),
      ...(config.agentPingTimeoutMs === undefined ? {} : { agentPingTimeoutMs: config.agentPingTimeoutMs }),
    },
  });
  core.recover(recovered);
  const runtime = new MasterRuntime(core, log, registry, () => {
    // As Mesos: a master that cannot write its registry stops rather than serve a state it may lose.
    process.exitCode = 1;
    setImmediate(() => process.kill(process.pid, 'SIGTERM'));
  });
  started.description = description;
  started.runtime = runtime;
  runtime.start();
  const url = `http://${config.ip}:${port}`;
  log.info({ url, id }, 'master started');

  return {
    url,
    async stop() {
      runtime.stop();
      await app.close();
      log.info('master stopped');
    },
  };
}

function ipv4ToUint32(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return 0;
  // Mesos packs MasterInfo.ip in network byte order, read as a little-endian uint32.
  return ((parts[3]! << 24) | (parts[2]! << 16) | (parts[1]! << 8) | parts[0]!) >>> 0;
}
