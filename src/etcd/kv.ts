/**
 * The part of etcd agora uses, as an interface: reads, conditional transactions, leases and
 * watches of single keys. `EtcdClient` (client.ts) implements it over the etcd3 package;
 * `FakeEtcd` (fake.ts) in memory, for tests of the election, the detector and the registry.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** The revision that created the key (etcd's create_revision): lower means older. */
  createRevision: number;
  modRevision: number;
}

/** A condition of a transaction: the key exists, or does not. */
export interface Compare {
  key: string;
  exists: boolean;
}

/** A put (with `value`, optionally bound to a lease) or a delete (no `value`). */
export interface Mutation {
  key: string;
  value?: string;
  lease?: string;
}

export interface EtcdLease {
  /** etcd's lease id, in hex as etcdctl prints it. */
  readonly id: string;
  readonly ttlSeconds: number;
  /**
   * Resolves, never rejects, once the lease can no longer be counted on: it expired, it was
   * revoked, or it was not renewed in time to be sure etcd still holds it. Keys bound to it are
   * gone, or about to be.
   */
  readonly lost: Promise<Error>;
  /**
   * Renews the lease now and resolves once etcd has; rejects if it cannot (then the lease may be
   * lost). A new leader confirms its lease before serving: its campaign may have waited long.
   */
  confirm(timeoutMs: number): Promise<void>;
  /** Ends the lease now: its keys go at once (a clean step-down). */
  revoke(): Promise<void>;
}

export interface EtcdWatch {
  cancel(): Promise<void>;
}

export interface EtcdKv {
  /** For messages: the endpoints it talks to. */
  readonly description: string;
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys under `prefix` in key order, after the key `after` if given, at most `limit` (default all). */
  list(prefix: string, options?: { after?: string; limit?: number }): Promise<KeyValue[]>;
  /** Applies the mutations, in one revision, if every compare holds; says whether it did. */
  txn(compares: readonly Compare[], mutations: readonly Mutation[]): Promise<boolean>;
  /** A lease of `ttlSeconds`, kept alive until revoked or lost. */
  grantLease(ttlSeconds: number): Promise<EtcdLease>;
  /**
   * Calls `onChange` with the key's new value after every put, and undefined after its delete,
   * with the revision of the change. Resolves once the watch is in place.
   */
  watch(key: string, onChange: (value: KeyValue | undefined, revision: number) => void): Promise<EtcdWatch>;
  close(): Promise<void>;
}
