/**
 * Leader election among masters on etcd (etcd's own election recipe): each contender puts a
 * key under `<prefix>/election/`, bound to its lease; the contender whose key is oldest (lowest
 * create revision) leads, the others wait for the key just older than theirs to go. A leader's
 * key exists exactly while it leads, so it fences every registry write.
 */
import type { MasterInfo } from '../../api/index.js';
import type { EtcdKv, EtcdLease } from '../../etcd/index.js';
import { etcdKeys } from '../../etcd/index.js';

export interface Leadership {
  /** The campaign key: present exactly while this master leads. Writes are conditioned on it. */
  readonly fence: string;
  readonly lease: EtcdLease;
  /** Resolves when leadership is over: the lease was lost, revoked or expired. */
  readonly lost: Promise<Error>;
  /** Announces the leader under `<prefix>/leader` (bound to the lease); false if no longer leading. */
  publish(info: MasterInfo): Promise<boolean>;
  /** Gives leadership up now: the lease is revoked, its keys go, and a standby takes over at once. */
  resign(): Promise<void>;
}

export class CampaignAborted extends Error {
  override readonly name = 'CampaignAborted';
}

/**
 * Campaigns until elected; resolves with the leadership. Rejects if the lease is lost while
 * waiting (campaign again with a new one), on etcd errors, or with CampaignAborted on `signal`.
 */
export async function campaign(
  kv: EtcdKv,
  prefix: string,
  value: string,
  ttlSeconds: number,
  signal?: AbortSignal,
): Promise<Leadership> {
  const keys = etcdKeys(prefix);
  const lease = await kv.grantLease(ttlSeconds);
  const fence = `${keys.election}${lease.id}`;
  try {
    await kv.txn([{ key: fence, exists: false }], [{ key: fence, value, lease: lease.id }]);
    const mine = await kv.get(fence);
    if (mine === undefined) throw new Error(`the campaign key ${fence} vanished: the lease was lost`);
    for (;;) {
      if (signal?.aborted === true) throw new CampaignAborted('the campaign was stopped');
      const contenders = await kv.list(keys.election);
      const earlier = contenders.filter((c) => c.createRevision < mine.createRevision).sort((a, b) => b.createRevision - a.createRevision)[0];
      if (earlier === undefined) break;
      await untilDeleted(kv, earlier.key, lease, signal);
    }
  } catch (err) {
    await lease.revoke().catch(() => undefined);
    throw err;
  }
  return {
    fence,
    lease,
    lost: lease.lost,
    publish: (info) => kv.txn([{ key: fence, exists: true }], [{ key: keys.leader, value: JSON.stringify(info), lease: lease.id }]),
    resign: () => lease.revoke(),
  };
}

/** Waits until `key` is deleted. The watch is set first, then the key read, so no delete is missed. */
async function untilDeleted(kv: EtcdKv, key: string, lease: EtcdLease, signal: AbortSignal | undefined): Promise<void> {
  let deleted!: () => void;
  const gone = new Promise<void>((resolve) => (deleted = resolve));
  const watch = await kv.watch(key, (value) => {
    if (value === undefined) deleted();
  });
  let onAbort: (() => void) | undefined;
  try {
    if ((await kv.get(key)) === undefined) return;
    await new Promise<void>((resolve, reject) => {
      void gone.then(resolve);
      void lease.lost.then(reject);
      onAbort = () => reject(new CampaignAborted('the campaign was stopped'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    await watch.cancel().catch(() => undefined);
  }
}
