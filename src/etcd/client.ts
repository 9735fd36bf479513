/**
 * EtcdKv over the etcd3 package (gRPC to etcd's v3 API). Adds what agora needs on top of it: a
 * lease counts as lost as soon as it has gone unconfirmed long enough that etcd may have dropped
 * it (etcd3 itself waits twice the TTL), and watches reconnect within a second, not thirty.
 */
import { Etcd3, type IOptions, type Lease } from 'etcd3';
import type { Compare, EtcdKv, EtcdLease, EtcdWatch, KeyValue, Mutation } from './kv.js';
import type { EtcdLocation } from './url.js';

/** Unary calls give up after this (etcd answers in ms; a dead member is tried again elsewhere). */
const CALL_DEADLINE_MS = 5_000;
const DIAL_TIMEOUT_MS = 2_000;
/** A lease is given up this long before etcd could expire it at the earliest: time to stop serving. */
const LEASE_SAFETY_MARGIN_MS = 300;

type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Watch streams come back after 100 ms, doubling to 1 s: a standby must hear of a new leader promptly. */
function cappedBackoff(durationMs: number): Backoff {
  return { duration: durationMs, next: () => cappedBackoff(Math.min(durationMs * 2, 1_000)) };
}

export class EtcdClient implements EtcdKv {
  readonly description: string;
  private readonly client: Etcd3;
  private readonly leases = new Set<Lease>();

  constructor(location: EtcdLocation) {
    this.description = location.endpoints.join(',');
    this.client = new Etcd3({
      hosts: location.endpoints,
      dialTimeout: DIAL_TIMEOUT_MS,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      faultHandling: { watchBackoff: cappedBackoff(100) },
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const response = await this.client.get(key).exec();
    const kv = response.kvs[0];
    return kv === undefined ? undefined : toKeyValue(kv);
  }

  async list(prefix: string, options: { after?: string; limit?: number } = {}): Promise<KeyValue[]> {
    const end = prefixEnd(prefix);
    const start = options.after === undefined ? prefix : `${options.after}\0`;
    let builder = this.client.getAll().inRange({ start, end }).sort('Key', 'Ascend');
    if (options.limit !== undefined) builder = builder.limit(options.limit);
    const response = await builder.exec();
    return response.kvs.map(toKeyValue);
  }

  async txn(compares: readonly Compare[], mutations: readonly Mutation[]): Promise<boolean> {
    const [first, ...rest] = compares;
    if (first === undefined) throw new Error('EtcdClient.txn needs at least one compare');
    const condition = (c: Compare) => [c.key, 'Version', c.exists ? '>' : '==', 0] as const;
    let builder = this.client.if(...condition(first));
    for (const c of rest) builder = builder.and(...condition(c));
    const operations = mutations.map((m) => {
      if (m.value === undefined) return this.client.delete().key(m.key);
      const put = this.client.put(m.key).value(m.value);
      return m.lease === undefined ? put : put.lease(BigInt(`0x${m.lease}`).toString());
    });
    const response = await builder.then(...operations).commit();
    return response.succeeded;
  }

  async grantLease(ttlSeconds: number): Promise<EtcdLease> {
    const lease = this.client.lease(ttlSeconds);
    this.leases.add(lease);
    let lose!: (err: Error) => void;
    let isLost = false;
    const lost = new Promise<Error>((resolve) => (lose = resolve));
    const ttlMs = ttlSeconds * 1000;
    // When each keepalive was sent, oldest first: a renewal happened no earlier than its request.
    const fired: number[] = [];
    let confirmedAt = performance.now();
    let guard: NodeJS.Timeout | undefined;
    const giveUp = (err: Error) => {
      if (isLost) return;
      isLost = true;
      clearTimeout(guard);
      this.leases.delete(lease);
      lease.release();
      lose(err);
    };
    const armGuard = () => {
      clearTimeout(guard);
      const deadline = confirmedAt + ttlMs - LEASE_SAFETY_MARGIN_MS;
      guard = setTimeout(() => giveUp(new Error(`lease not renewed for ${Math.round(performance.now() - confirmedAt)} ms (TTL ${ttlSeconds} s)`)), Math.max(0, deadline - performance.now()));
      guard.unref();
    };
    lease.on('lost', (err) => giveUp(err));
    lease.on('keepaliveFired', () => fired.push(performance.now()));
    lease.on('keepaliveSucceeded', () => {
      confirmedAt = fired.shift() ?? confirmedAt;
      armGuard();
    });
    lease.on('keepaliveFailed', () => fired.splice(0));
    const grantedAt = performance.now();
    const id = BigInt(await lease.grant()).toString(16);
    confirmedAt = grantedAt;
    armGuard();
    return {
      id,
      ttlSeconds,
      lost,
      confirm: async (timeoutMs) => {
        const sentAt = performance.now();
        await lease.keepaliveOnce({ deadline: Date.now() + timeoutMs });
        if (isLost) throw new Error(`lease ${id} was lost`);
        confirmedAt = Math.max(confirmedAt, sentAt);
        armGuard();
      },
      revoke: async () => {
        clearTimeout(guard);
        this.leases.delete(lease);
        if (!isLost) {
          isLost = true;
          lose(new Error(`lease ${id} revoked`));
        }
        await lease.revoke();
      },
    };
  }

  async watch(key: string, onChange: (value: KeyValue | undefined, revision: number) => void): Promise<EtcdWatch> {
    const watcher = await this.client.watch().key(key).create();
    watcher.on('put', (kv) => onChange(toKeyValue(kv), Number(kv.mod_revision)));
    watcher.on('delete', (kv) => onChange(undefined, Number(kv.mod_revision)));
    // Errors end in reconnects inside etcd3; an unhandled 'error' event must not crash the process.
    watcher.on('error', () => undefined);
    return { cancel: () => watcher.cancel() };
  }

  async close(): Promise<void> {
    for (const lease of this.leases) lease.release();
    this.leases.clear();
    this.client.close();
  }
}

function toKeyValue(kv: { key: Buffer; value: Buffer; create_revision: string; mod_revision: string }): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, 'utf8');
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
