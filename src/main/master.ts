/**
 * Composition root of a master: the HTTP server, the core with a real clock and random ids,
 * the allocator, the runtime that joins them, and the registry they recover from. With
 * `--registry etcd://...` the master campaigns for leadership and serves only while it leads
 * (a term); otherwise it leads from the start. `agora master` and `agora local` call this.
 */
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import { AgoraError, Prng, formatDuration, parseDurationMs } from '../base/index.js';
import type { Clock } from '../base/index.js';
import { AGORA_VERSION } from '../api/index.js';
import type { MasterInfo } from '../api/index.js';
import { Allocator } from '../allocator/index.js';
import { EtcdClient, type EtcdLocation, parseEtcdUrl } from '../etcd/index.js';
import { createHttpServer } from '../http/index.js';
import {
  DEFAULT_CORE_CONFIG,
  FileRegistry,
  HaMaster,
  InMemoryRegistry,
  MasterCore,
  MasterRuntime,
  type MasterRole,
  type Registry,
  type RegistryState,
  type Term,
  registerAgentLink,
  registerLeaderGate,
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
  /** `--registry`: "file" (default, <work_dir>/registry.json), "in_memory", or "etcd://HOST:PORT[,...][/prefix]" for HA. */
  registry?: string;
  /** --agent_reregister_timeout (10mins). */
  agentReregisterTimeoutMs?: number;
  /** --registry_gc_interval (15mins), --registry_max_agent_age (2weeks), --registry_max_agent_count (102400). */
  registryGcIntervalMs?: number;
  registryMaxAgentAgeMs?: number;
  registryMaxAgentCount?: number;
  /** --leader_lease_ttl: the etcd lease of a leading master (2secs); it leads until the lease is lost. */
  leaderLeaseTtlSeconds?: number;
  /**
   * --agent_ping_timeout (15secs) and --max_agent_ping_timeouts (5): an agent that answers none of
   * that many pings in a row is marked unreachable.
   */
  agentPingTimeoutMs?: number;
  maxAgentPingTimeouts?: number;
  /** --agent_removal_rate_limit, e.g. "1/10mins": at most that many agents marked unreachable per duration. */
  agentRemovalRateLimit?: string;
  /** Override for tests: the HEARTBEAT period on scheduler streams (Mesos: 15 s). */
  heartbeatIntervalMs?: number;
}

export interface MasterHandle {
  url: string;
  /** Leading, recovering, or standing by (and for whom). */
  role(): MasterRole;
  stop(): Promise<void>;
}

export const realClock: Clock = {
  monotonicMs: () => performance.now(),
  realtimeMs: () => Date.now(),
};

export const DEFAULT_LEADER_LEASE_TTL_SECONDS = 2;

type RegistryChoice = { kind: 'file' } | { kind: 'in_memory' } | { kind: 'etcd'; location: EtcdLocation };

/** `--registry`'s value, or the flag's error. */
export function parseRegistryFlag(text: string): RegistryChoice {
  const value = text.trim();
  if (value === 'file' || value === 'replicated_log') return { kind: 'file' };
  if (value === 'in_memory') return { kind: 'in_memory' };
  if (/^etcd:\/\//i.test(value)) {
    const location = parseEtcdUrl(value);
    if ('error' in location) throw new AgoraError('AGORA_ERR_VALIDATION', `--registry: ${location.error}`);
    return { kind: 'etcd', location };
  }
  const hint = /^zk:\/\//i.test(value) ? '; agora keeps HA state in etcd, not ZooKeeper' : '';
  throw new AgoraError(
    'AGORA_ERR_VALIDATION',
    `--registry: "${text}" is not file, in_memory or etcd://HOST:PORT[,HOST:PORT...]${hint}; e.g. --registry etcd://127.0.0.1:2379`,
  );
}

export async function startMaster(config: MasterConfig): Promise<MasterHandle> {
  if (!(config.allocationIntervalMs > 0)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', '--allocation_interval must be a positive duration, such as "1secs"');
  }
  for (const [flag, value] of [
    ['--agent_ping_timeout', config.agentPingTimeoutMs],
    ['--agent_reregister_timeout', config.agentReregisterTimeoutMs],
    ['--registry_gc_interval', config.registryGcIntervalMs],
    ['--registry_max_agent_age', config.registryMaxAgentAgeMs],
  ] as const) {
    if (value !== undefined && !(value > 0)) throw new AgoraError('AGORA_ERR_VALIDATION', `${flag} must be a positive duration, got ${value} ms`);
  }
  const maxPings = config.maxAgentPingTimeouts;
  if (maxPings !== undefined && !(Number.isInteger(maxPings) && maxPings >= 1)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--max_agent_ping_timeouts must be a whole number >= 1, got ${maxPings}`);
  }
  const removalRateLimit = config.agentRemovalRateLimit === undefined ? undefined : parseRateLimit('--agent_removal_rate_limit', config.agentRemovalRateLimit);
  const ttl = config.leaderLeaseTtlSeconds ?? DEFAULT_LEADER_LEASE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--leader_lease_ttl must be a whole number of seconds >= 1 (etcd's minimum), got ${ttl}`);
  }
  const registryChoice = parseRegistryFlag(config.registry ?? 'file');
  const log = config.logger;
  const app = createHttpServer({ logger: log });
  // Routes are registered before listening; the term (core and runtime) serving them comes later.
  const current: { runtime?: MasterRuntime; description?: MasterDescription } = {};
  let role: () => MasterRole = () => ({ kind: 'recovering' });
  const ready = () => {
    if (current.runtime === undefined) throw new AgoraError('AGORA_ERR_UNAVAILABLE', 'Master has not finished recovery');
    return current.runtime;
  };
  registerLeaderGate(app, () => role());
  registerSchedulerApi(app, ready);
  registerAgentLink(app, ready);
  registerMasterEndpoints(app, () => ready().core, () => current.description!);
  registerOperatorApi(app, ready, () => current.description!);
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
  const startTimeMs = Date.now();
  const url = `http://${config.ip}:${port}`;
  const masterInfo = (id: string): MasterInfo => ({
    id,
    ip: ipv4ToUint32(config.ip),
    port,
    pid: `master@${config.ip}:${port}`,
    hostname,
    version: AGORA_VERSION,
    address: { hostname, ip: config.ip, port },
    capabilities: [{ type: 'AGENT_UPDATE' }],
  });
  const flags: Record<string, string> = {
    ip: config.ip,
    port: String(port),
    hostname,
    work_dir: config.workDir,
    registry: config.registry ?? 'file',
    allocation_interval: `${config.allocationIntervalMs}ms`,
    agent_ping_timeout: formatDuration(config.agentPingTimeoutMs ?? DEFAULT_CORE_CONFIG.agentPingTimeoutMs),
    max_agent_ping_timeouts: String(config.maxAgentPingTimeouts ?? DEFAULT_CORE_CONFIG.maxAgentPingTimeouts),
    ...(config.agentRemovalRateLimit === undefined ? {} : { agent_removal_rate_limit: config.agentRemovalRateLimit }),
    agent_reregister_timeout: formatDuration(config.agentReregisterTimeoutMs ?? DEFAULT_CORE_CONFIG.agentReregisterTimeoutMs),
    registry_gc_interval: formatDuration(config.registryGcIntervalMs ?? DEFAULT_CORE_CONFIG.registryGcIntervalMs),
    registry_max_agent_age: formatDuration(config.registryMaxAgentAgeMs ?? DEFAULT_CORE_CONFIG.registryMaxAgentAgeMs),
    registry_max_agent_count: String(config.registryMaxAgentCount ?? DEFAULT_CORE_CONFIG.registryMaxAgentCount),
    ...(registryChoice.kind === 'etcd' ? { leader_lease_ttl: `${ttl}secs` } : {}),
  };

  /** A term: a core and runtime from the recovered registry, serving until stopped. */
  const lead = (registry: Registry, recovered: RegistryState, info: MasterInfo, onFatal: (err: Error) => void): Term => {
    const electedTimeMs = Date.now();
    const allocator = new Allocator({ clock: realClock, prng: new Prng(Number.parseInt(info.id.slice(0, 8), 16)) });
    const core = new MasterCore({
      clock: realClock,
      ids: { uuid: () => randomUUID() },
      allocator,
      config: {
        ...DEFAULT_CORE_CONFIG,
        masterInfo: info,
        allocationIntervalMs: config.allocationIntervalMs,
        ...(removalRateLimit === undefined ? {} : { agentRemovalRateLimit: removalRateLimit }),
        ...definedOnly({
          heartbeatIntervalMs: config.heartbeatIntervalMs,
          agentPingTimeoutMs: config.agentPingTimeoutMs,
          maxAgentPingTimeouts: config.maxAgentPingTimeouts,
          agentReregisterTimeoutMs: config.agentReregisterTimeoutMs,
          registryGcIntervalMs: config.registryGcIntervalMs,
          registryMaxAgentAgeMs: config.registryMaxAgentAgeMs,
          registryMaxAgentCount: config.registryMaxAgentCount,
        }),
      },
    });
    core.recover(recovered);
    const runtime = new MasterRuntime(core, log, registry, onFatal);
    current.description = {
      id: info.id,
      hostname,
      ip: config.ip,
      port,
      version: AGORA_VERSION,
      startTimeMs,
      electedTimeMs,
      buildDate: new Date(startTimeMs).toISOString(),
      flags,
    };
    current.runtime = runtime;
    runtime.start();
    log.info(
      {
        url,
        id: info.id,
        agents: recovered.agents.length,
        unreachable: recovered.unreachable.length,
        gone: recovered.gone.length,
        weights: recovered.weights.length,
        quotaConfigs: recovered.quota_configs.length,
      },
      'registry recovered; leading',
    );
    return {
      stop() {
        runtime.stop();
        if (current.runtime === runtime) current.runtime = undefined;
      },
    };
  };

  if (registryChoice.kind === 'etcd') {
    const kv = new EtcdClient(registryChoice.location);
    const ha = new HaMaster({
      kv,
      prefix: registryChoice.location.prefix,
      leaseTtlSeconds: ttl,
      log,
      masterInfo: () => masterInfo(randomUUID()),
      lead,
    });
    role = () => ha.role();
    ha.start();
    log.info({ url, etcd: kv.description, prefix: registryChoice.location.prefix }, 'master started; campaigning for leadership in etcd');
    return {
      url,
      role,
      async stop() {
        await ha.stop();
        await app.close();
        await kv.close();
        log.info('master stopped');
      },
    };
  }

  // One master: it leads from the start, once its registry is read (503 until then).
  const registry = registryChoice.kind === 'file' ? new FileRegistry(config.workDir) : new InMemoryRegistry();
  let term: Term;
  try {
    const recovered = await registry.load();
    term = lead(registry, recovered, masterInfo(randomUUID()), () => {
      // As Mesos: a master that cannot write its registry stops rather than serve a state it may lose.
      process.exitCode = 1;
      setImmediate(() => process.kill(process.pid, 'SIGTERM'));
    });
  } catch (err) {
    await app.close();
    throw err;
  }
  role = () => ({ kind: 'leading' });
  log.info({ url, registry: registry instanceof FileRegistry ? registry.path : 'in_memory' }, 'master started');
  return {
    url,
    role,
    async stop() {
      term.stop();
      await app.close();
      log.info('master stopped');
    },
  };
}

/** Mesos's rate syntax, "N/DURATION" ("1/10mins", "2/3hrs"), or the flag's error. */
export function parseRateLimit(flag: string, text: string): { permits: number; intervalMs: number } {
  const slash = text.indexOf('/');
  const permits = Number(text.slice(0, slash));
  const intervalMs = slash === -1 ? NaN : parseDurationMs(text.slice(slash + 1));
  if (!(Number.isInteger(permits) && permits >= 1) || typeof intervalMs !== 'number' || !(intervalMs > 0)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `${flag}: "${text}" is not a rate; write agents per duration, e.g. "1/10mins" or "2/3hrs"`);
  }
  return { permits, intervalMs };
}

/** The entries whose value is defined (exactOptionalPropertyTypes forbids explicit undefined). */
function definedOnly<T extends Record<string, number | undefined>>(values: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}

function ipv4ToUint32(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return 0;
  // Mesos packs MasterInfo.ip in network byte order, read as a little-endian uint32.
  return ((parts[3]! << 24) | (parts[2]! << 16) | (parts[1]! << 8) | parts[0]!) >>> 0;
}
