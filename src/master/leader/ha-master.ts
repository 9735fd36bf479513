/**
 * One HA master's life on etcd: campaign; once elected, load the registry, start a term (a
 * fresh core and runtime), publish itself as leader, and serve until leadership is lost; then
 * stop the term and stand by again. A master that loses its lease steps down at once, in
 * process, instead of exiting (docs/decisions/0009-ha-on-etcd.md). Standbys follow the leader
 * key to redirect callers.
 */
import type { Logger } from 'pino';
import type { MasterInfo } from '../../api/index.js';
import { EtcdMasterDetector, type EtcdKv } from '../../etcd/index.js';
import { EtcdRegistry } from '../registry/etcd.js';
import type { Registry } from '../registry/index.js';
import type { RegistryState } from '../registry/state.js';
import { CampaignAborted, type Leadership, campaign } from './contender.js';
import type { MasterRole } from './role.js';

/** A leading master's core and runtime, built from the registry it recovered. */
export interface Term {
  /** Closes its streams and timers; the registry it wrote to is fenced already. */
  stop(): void;
}

export interface HaMasterDeps {
  kv: EtcdKv;
  prefix: string;
  leaseTtlSeconds: number;
  log: Logger;
  /** The MasterInfo to campaign and lead with; a fresh id each time (ids are per term, as per process in Mesos). */
  masterInfo(): MasterInfo;
  /** Starts leading from the recovered registry. `lose` ends the term (its registry failed). */
  lead(registry: Registry, recovered: RegistryState, info: MasterInfo, lose: (err: Error) => void): Term;
  /** Pause between failed campaigns (etcd unreachable). */
  retryMs?: number;
}

export class HaMaster {
  private phase: 'standby' | 'recovering' | 'leading' = 'standby';
  private readonly detector: EtcdMasterDetector;
  private readonly abort = new AbortController();
  private stopped = false;
  private leadership: Leadership | undefined;
  private term: Term | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Ids this process led or campaigned with: never a leader to redirect to. */
  private readonly ownIds = new Set<string>();
  /** Terms led so far (tests, logs). */
  terms = 0;

  constructor(private readonly deps: HaMasterDeps) {
    this.detector = EtcdMasterDetector.start(deps.kv, deps.prefix, {
      onError: (err) => deps.log.warn({ error: err.message }, 'cannot watch the leader key in etcd; retrying'),
    });
  }

  start(): void {
    this.running = this.run();
  }

  role(): MasterRole {
    if (this.phase !== 'standby') return { kind: this.phase };
    const info = this.detector.currentInfo();
    if (info === undefined || this.ownIds.has(info.id)) return { kind: 'standby', leader: undefined };
    const hostname = info.hostname ?? info.address?.hostname ?? info.address?.ip ?? '';
    return { kind: 'standby', leader: { hostname, port: info.address?.port ?? info.port } };
  }

  /** Stops campaigning; a leader resigns, so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.term?.stop();
    await this.leadership?.resign().catch(() => undefined);
    await this.running;
    await this.detector.close();
  }

  private async run(): Promise<void> {
    const { log } = this.deps;
    const firstRetryMs = this.deps.retryMs ?? 500;
    let retryMs = firstRetryMs;
    while (!this.stopped) {
      const info = this.deps.masterInfo();
      this.ownIds.add(info.id);
      let leadership: Leadership;
      try {
        leadership = await campaign(this.deps.kv, this.deps.prefix, JSON.stringify(info), this.deps.leaseTtlSeconds, this.abort.signal);
      } catch (err) {
        if (this.stopped || err instanceof CampaignAborted) return;
        log.warn({ error: (err as Error).message, retryMs }, 'campaign for leadership failed; trying again');
        await sleep(retryMs, this.abort.signal);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS); // etcd unreachable: do not hammer it, nor the log
        continue;
      }
      retryMs = firstRetryMs;
      this.leadership = leadership;
      const led = await this.serve(leadership, info);
      this.phase = 'standby';
      this.term?.stop();
      this.term = undefined;
      // Still holding the lease (a failed registry write)? Give it up, so a standby need not wait for it to expire.
      await leadership.resign().catch(() => undefined);
      this.leadership = undefined;
      // Elected but unable to lead (etcd failing): pause before campaigning again.
      if (!led && !this.stopped) await sleep(firstRetryMs, this.abort.signal);
    }
  }

  /** Leads until leadership is lost, or the term fails. Says whether it got to lead at all. */
  private async serve(leadership: Leadership, info: MasterInfo): Promise<boolean> {
    const { log } = this.deps;
    this.phase = 'recovering';
    log.info({ id: info.id, fence: leadership.fence }, 'elected leader; recovering the registry from etcd');
    let lose!: (err: Error) => void;
    const failed = new Promise<Error>((resolve) => (lose = resolve));
    const over = Promise.race([leadership.lost, failed]);
    try {
      // The campaign may have waited through an etcd outage: lead only on a lease renewed just now.
      await untilOver(leadership.lease.confirm(CONFIRM_TIMEOUT_MS), over);
      const registry = new EtcdRegistry(this.deps.kv, this.deps.prefix, leadership.fence);
      const recovered = await untilOver(registry.load(), over);
      if (recovered === undefined || this.stopped) return false;
      this.term = this.deps.lead(registry, recovered, info, lose);
      this.terms++;
      if (!(await untilOver(leadership.publish(info), over))) return false;
      this.phase = 'leading';
      log.info({ id: info.id, agents: recovered.agents.length }, 'leading');
      const why = await over;
      if (!this.stopped) log.error({ error: why.message }, 'lost leadership; stepping down to standby');
      return true;
    } catch (err) {
      log.error({ error: (err as Error).message }, 'elected, but cannot lead; standing by');
      return false;
    }
  }
}

const CONFIRM_TIMEOUT_MS = 1_000;
const MAX_RETRY_MS = 5_000;

/** `work`'s value, or undefined if `over` comes first. */
async function untilOver<T>(work: Promise<T>, over: Promise<Error>): Promise<T | undefined> {
  return Promise.race([work, over.then(() => undefined)]);
}

/** Resolves after `ms`, or at once when `signal` aborts (a stopping master does not wait out a pause). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
