/**
 * The registry of HA masters, in etcd: one key per record under `<prefix>/registry/`
 * (records.ts), written by the leader only, each transaction conditioned on its campaign key
 * (the fence): a master that lost leadership can no longer write, even a write it started
 * before. Operations that arrive while a write is in flight go together in the next one.
 */
import { AgoraError } from '../../base/index.js';
import type { EtcdKv, Mutation } from '../../etcd/index.js';
import { etcdKeys } from '../../etcd/index.js';
import type { Registry } from './index.js';
import { type RecordMutation, recordMutations, stateFromRecords } from './records.js';
import type { RegistryOperation, RegistryState } from './state.js';

/** etcd's default --max-txn-ops is 128; keep clear of it. */
export const MAX_MUTATIONS_PER_TXN = 100;
const LOAD_PAGE = 1_000;

interface Pending {
  mutations: RecordMutation[];
  resolve: () => void;
  reject: (err: Error) => void;
}

export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
}

export class EtcdRegistry implements Registry {
  private readonly prefix: string;
  private readonly pending: Pending[] = [];
  private writing = false;
  private failed: Error | undefined;

  constructor(
    private readonly kv: EtcdKv,
    etcdPrefix: string,
    /** The campaign key of the leadership this registry writes under. */
    private readonly fence: string,
  ) {
    this.prefix = etcdKeys(etcdPrefix).registry;
  }

  async load(): Promise<RegistryState> {
    const records: Array<[string, string]> = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.kv.list(this.prefix, { limit: LOAD_PAGE, ...(after === undefined ? {} : { after }) });
      for (const kv of page) records.push([kv.key.slice(this.prefix.length), kv.value]);
      if (page.length < LOAD_PAGE) break;
      after = page[page.length - 1]!.key;
    }
    return stateFromRecords(records, `etcd ${this.kv.description} under ${this.prefix}`);
  }

  apply(operation: RegistryOperation): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.push({ mutations: recordMutations(operation), resolve, reject });
      if (!this.writing) void this.write();
    });
  }

  /** Writes batches until nothing is pending; operations resolve in order. */
  private async write(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0 && this.failed === undefined) {
      const batch = this.takeBatch();
      try {
        // One operation larger than a transaction (a big prune) goes in several, in order.
        const merged = mergeByKey(batch.flatMap((p) => p.mutations));
        for (let i = 0; i < merged.length; i += MAX_MUTATIONS_PER_TXN) {
          const chunk = merged.slice(i, i + MAX_MUTATIONS_PER_TXN).map((m): Mutation => ({ ...m, key: this.prefix + m.key }));
          const stored = await this.kv.txn([{ key: this.fence, exists: true }], chunk);
          if (!stored) throw new LeadershipLostError(`this master is no longer the leader (its key ${this.fence} is gone); the registry write was refused`);
        }
        for (const p of batch) p.resolve();
      } catch (err) {
        this.failed = err instanceof Error ? err : new AgoraError('AGORA_ERR_INTERNAL', String(err));
        for (const p of [...batch, ...this.pending.splice(0)]) p.reject(this.failed);
      }
    }
    this.writing = false;
  }

  /** Whole operations, as many as fit in one transaction (at least one). */
  private takeBatch(): Pending[] {
    const batch = [this.pending.shift()!];
    let size = batch[0]!.mutations.length;
    while (this.pending.length > 0 && size + this.pending[0]!.mutations.length <= MAX_MUTATIONS_PER_TXN) {
      const next = this.pending.shift()!;
      size += next.mutations.length;
      batch.push(next);
    }
    return batch;
  }
}

/** Later mutations of a key replace earlier ones: etcd refuses a transaction that touches a key twice. */
function mergeByKey(mutations: RecordMutation[]): RecordMutation[] {
  const byKey = new Map<string, RecordMutation>();
  for (const m of mutations) {
    byKey.delete(m.key);
    byKey.set(m.key, m);
  }
  return [...byKey.values()];
}
