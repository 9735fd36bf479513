/**
 * An in-memory etcd for tests: one store with revisions, leases and watches, and any number of
 * clients on it (one per simulated process). Leases never expire by themselves: a test ends
 * them, as a crash (`crash`) or a lease etcd dropped (`expireLeases`) would. Callbacks run
 * asynchronously, as they would over a network.
 */
import type { Compare, EtcdKv, EtcdLease, EtcdWatch, KeyValue, Mutation } from './kv.js';

interface Stored {
  value: string;
  createRevision: number;
  modRevision: number;
  lease?: string;
}

interface FakeLeaseState {
  id: string;
  owner: FakeEtcdClient;
  keys: Set<string>;
  lose: (err: Error) => void;
}

export class FakeEtcd {
  private readonly data = new Map<string, Stored>();
  private readonly leases = new Map<string, FakeLeaseState>();
  private readonly watchers = new Map<string, Set<(value: KeyValue | undefined, revision: number) => void>>();
  private revision = 1;
  private nextLease = 0x1000;

  client(name = 'client'): FakeEtcdClient {
    return new FakeEtcdClient(this, name);
  }

  /** The process behind `client` died: its leases expire (as they would after their TTL), its calls fail. */
  crash(client: FakeEtcdClient): void {
    client.crashed = true;
    this.expireLeases(client);
  }

  /** etcd dropped every lease of `client` (it could not renew them): their keys go, the client is told. */
  expireLeases(client: FakeEtcdClient): void {
    for (const lease of [...this.leases.values()]) if (lease.owner === client) this.endLease(lease.id, new Error(`lease ${lease.id} expired`));
  }

  /** The value of a key now (for assertions). */
  peek(key: string): string | undefined {
    return this.data.get(key)?.value;
  }

  // ----- what FakeEtcdClient calls --------------------------------------------------------

  read(key: string): KeyValue | undefined {
    const stored = this.data.get(key);
    return stored === undefined ? undefined : toKeyValue(key, stored);
  }

  list(prefix: string, after: string | undefined, limit: number | undefined): KeyValue[] {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix) && (after === undefined || k > after)).sort();
    return keys.slice(0, limit ?? keys.length).map((k) => toKeyValue(k, this.data.get(k)!));
  }

  txn(compares: readonly Compare[], mutations: readonly Mutation[]): boolean {
    if (!compares.every((c) => this.data.has(c.key) === c.exists)) return false;
    for (const m of mutations) {
      if (m.lease !== undefined && !this.leases.has(m.lease)) throw new Error(`etcdserver: requested lease not found (${m.lease})`);
    }
    const revision = ++this.revision;
    for (const m of mutations) {
      const before = this.data.get(m.key);
      if (before?.lease !== undefined) this.leases.get(before.lease)?.keys.delete(m.key);
      if (m.value === undefined) {
        if (before === undefined) continue;
        this.data.delete(m.key);
        this.notify(m.key, undefined, revision);
        continue;
      }
      const stored: Stored = { value: m.value, createRevision: before?.createRevision ?? revision, modRevision: revision };
      if (m.lease !== undefined) {
        stored.lease = m.lease;
        this.leases.get(m.lease)!.keys.add(m.key);
      }
      this.data.set(m.key, stored);
      this.notify(m.key, toKeyValue(m.key, stored), revision);
    }
    return true;
  }

  grant(owner: FakeEtcdClient, ttlSeconds: number): EtcdLease {
    const id = (this.nextLease++).toString(16);
    let lose!: (err: Error) => void;
    const lost = new Promise<Error>((resolve) => (lose = resolve));
    this.leases.set(id, { id, owner, keys: new Set(), lose });
    return {
      id,
      ttlSeconds,
      lost,
      confirm: async () => {
        if (!this.leases.has(id) || owner.crashed) throw new Error(`etcdserver: requested lease not found (${id})`);
      },
      revoke: async () => this.endLease(id, new Error(`lease ${id} revoked`)),
    };
  }

  addWatcher(key: string, onChange: (value: KeyValue | undefined, revision: number) => void): () => void {
    const set = this.watchers.get(key) ?? new Set();
    set.add(onChange);
    this.watchers.set(key, set);
    return () => set.delete(onChange);
  }

  private endLease(id: string, why: Error): void {
    const lease = this.leases.get(id);
    if (lease === undefined) return;
    this.leases.delete(id);
    const revision = ++this.revision;
    for (const key of lease.keys) {
      this.data.delete(key);
      this.notify(key, undefined, revision);
    }
    lease.lose(why);
  }

  private notify(key: string, value: KeyValue | undefined, revision: number): void {
    for (const watcher of this.watchers.get(key) ?? []) queueMicrotask(() => watcher(value, revision));
  }
}

export class FakeEtcdClient implements EtcdKv {
  crashed = false;
  private readonly cancels = new Set<() => void>();

  constructor(
    private readonly etcd: FakeEtcd,
    readonly description: string,
  ) {}

  async get(key: string): Promise<KeyValue | undefined> {
    this.check();
    return this.etcd.read(key);
  }

  async list(prefix: string, options: { after?: string; limit?: number } = {}): Promise<KeyValue[]> {
    this.check();
    return this.etcd.list(prefix, options.after, options.limit);
  }

  async txn(compares: readonly Compare[], mutations: readonly Mutation[]): Promise<boolean> {
    this.check();
    return this.etcd.txn(compares, mutations);
  }

  async grantLease(ttlSeconds: number): Promise<EtcdLease> {
    this.check();
    return this.etcd.grant(this, ttlSeconds);
  }

  async watch(key: string, onChange: (value: KeyValue | undefined, revision: number) => void): Promise<EtcdWatch> {
    this.check();
    const cancel = this.etcd.addWatcher(key, (value, revision) => {
      if (!this.crashed) onChange(value, revision);
    });
    this.cancels.add(cancel);
    return {
      cancel: async () => {
        cancel();
        this.cancels.delete(cancel);
      },
    };
  }

  async close(): Promise<void> {
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
  }

  private check(): void {
    if (this.crashed) throw new Error(`${this.description} crashed`);
  }
}

function toKeyValue(key: string, stored: Stored): KeyValue {
  return { key, value: stored.value, createRevision: stored.createRevision, modRevision: stored.modRevision };
}
