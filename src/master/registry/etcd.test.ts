import { describe, expect, it } from 'vitest';
import { type EtcdKv, FakeEtcd, type FakeEtcdClient } from '../../etcd/index.js';
import { EtcdRegistry, InMemoryRegistry, LeadershipLostError, type RegistryOperation, emptyRegistry } from './index.js';

const FENCE = '/agora/election/abc';

async function aLeader(etcd: FakeEtcd, client: FakeEtcdClient = etcd.client('leader')) {
  const lease = await client.grantLease(2);
  await client.txn([{ key: FENCE, exists: false }], [{ key: FENCE, value: 'me', lease: lease.id }]);
  return { client, lease };
}

/** Counts transactions, to see batching. */
function counting(kv: EtcdKv): EtcdKv & { txns: number } {
  const counted = Object.create(kv) as EtcdKv & { txns: number };
  counted.txns = 0;
  counted.txn = (compares, mutations) => {
    counted.txns++;
    return kv.txn(compares, mutations);
  };
  return counted;
}

const admit = (i: number): RegistryOperation => ({
  type: 'ADMIT_AGENT',
  agent: { info: { id: { value: `S${String(i).padStart(5, '0')}` }, hostname: `h${i}` }, endpoint: { ip: '10.0.0.1', port: 5051 + i } },
});

describe('EtcdRegistry', () => {
  it('stores every operation as records a later leader reads back whole', async () => {
    const etcd = new FakeEtcd();
    const { client } = await aLeader(etcd);
    const registry = new EtcdRegistry(client, '/agora', FENCE);
    expect(await registry.load()).toEqual(emptyRegistry());
    const operations: RegistryOperation[] = [
      { type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'eng', weight: 2 }, { role: 'eng/ml', weight: 3 }] },
      { type: 'UPDATE_QUOTA', quota_configs: [{ role: 'eng', guarantees: { cpus: { value: 4 } } }] },
      admit(1),
      admit(2),
      { type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: 'S00002' }, timestamp: { nanoseconds: 5e15 } },
      { type: 'MARK_AGENT_GONE', agent_id: { value: 'S00003' }, timestamp: { nanoseconds: 6e15 } },
      { type: 'UPDATE_MAINTENANCE_SCHEDULE', schedule: { windows: [{ machine_ids: [{ hostname: 'h1' }], unavailability: { start: { nanoseconds: 1 } } }] } },
    ];
    const expected = new InMemoryRegistry();
    for (const op of operations) {
      await registry.apply(op);
      await expected.apply(op);
    }
    expect(etcd.peek('/agora/registry/agents/S00001')).toContain('"hostname":"h1"');
    expect(await new EtcdRegistry(etcd.client('next'), '/agora', FENCE).load()).toEqual(expected.snapshot());
  });

  it('writes operations that arrive together in few transactions, and splits a prune too big for one', async () => {
    const etcd = new FakeEtcd();
    const { client } = await aLeader(etcd);
    const kv = counting(client);
    const registry = new EtcdRegistry(kv, '/agora', FENCE);
    await registry.load();
    await Promise.all(Array.from({ length: 300 }, (_, i) => registry.apply(admit(i))));
    // Each admission is 3 records (the version record is shared): 300 of them fit in a handful of writes.
    expect(kv.txns).toBeLessThan(12);
    const ids = Array.from({ length: 300 }, (_, i) => `S${String(i).padStart(5, '0')}`);
    for (const id of ids) await registry.apply({ type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: id }, timestamp: { nanoseconds: 1 } });
    kv.txns = 0;
    await registry.apply({ type: 'PRUNE_AGENTS', unreachable: ids, gone: [] });
    expect(kv.txns).toBe(4); // 301 mutations, 100 per transaction
    // Pages of 1000 on load: 1500 records come back.
    await Promise.all(Array.from({ length: 1500 }, (_, i) => registry.apply(admit(1000 + i))));
    expect((await new EtcdRegistry(etcd.client(), '/agora', FENCE).load()).agents).toHaveLength(1500);
  });

  it('refuses every write once its leadership is gone, even one queued before', async () => {
    const etcd = new FakeEtcd();
    const { client } = await aLeader(etcd);
    const registry = new EtcdRegistry(client, '/agora', FENCE);
    await registry.load();
    await registry.apply(admit(1));
    etcd.expireLeases(client);
    await expect(registry.apply(admit(2))).rejects.toThrow(LeadershipLostError);
    await expect(registry.apply(admit(3))).rejects.toThrow(/no longer the leader/);
    expect(etcd.peek('/agora/registry/agents/S00002')).toBeUndefined();
  });

  it('refuses to load records it cannot read, naming where they are', async () => {
    const etcd = new FakeEtcd();
    const { client } = await aLeader(etcd);
    await client.txn([{ key: FENCE, exists: true }], [{ key: '/agora/registry/weights/eng', value: '{"role":"eng"}' }]);
    await expect(new EtcdRegistry(client, '/agora', FENCE).load()).rejects.toThrow(
      /the registry in etcd leader under \/agora\/registry\/ cannot be read: .*registry\.weights\[0\]\.weight/,
    );
  });
});
