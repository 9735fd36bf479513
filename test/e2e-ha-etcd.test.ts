/**
 * agora's etcd client against a real three-member etcd on loopback: the election, the fenced
 * registry and the leader detector behave as they do on the in-memory fake, and a leader that
 * cannot renew its lease (etcd lost quorum) gives it up before etcd could let another lead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, EtcdMasterDetector, parseEtcdUrl } from '../src/etcd/index.js';
import { campaign } from '../src/master/leader/index.js';
import { EtcdRegistry, type RegistryOperation } from '../src/master/registry/index.js';
import { type EtcdCluster, etcdUnavailable, startEtcdCluster } from './support/etcd.js';
import { waitUntil } from './support/cluster.js';

const unavailable = await etcdUnavailable();
if (unavailable !== undefined) console.log(`skipping the etcd client tests: ${unavailable}`);

let etcd: EtcdCluster | undefined;
const clients: EtcdClient[] = [];

function client(): EtcdClient {
  const location = parseEtcdUrl(etcd!.url);
  if ('error' in location) throw new Error(location.error);
  const made = new EtcdClient(location);
  clients.push(made);
  return made;
}

beforeAll(async () => {
  if (unavailable === undefined) etcd = await startEtcdCluster(3);
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await etcd?.stop();
});

describe.skipIf(unavailable !== undefined)('the etcd client on a real etcd', () => {
  it('elects, publishes and fences like the fake: a resigned leader can no longer write', async () => {
    const a = client();
    const b = client();
    const detector = EtcdMasterDetector.start(client(), '/t1');
    const first = await campaign(a, '/t1', 'A', 2);
    expect(await first.publish({ id: 'A', ip: 0, port: 1, address: { ip: '127.0.0.1', port: 5050 } })).toBe(true);
    expect(await detector.leader(5_000)).toBe('http://127.0.0.1:5050');

    const registry = new EtcdRegistry(a, '/t1', first.fence);
    await registry.load();
    const admit = (i: number): RegistryOperation => ({ type: 'ADMIT_AGENT', agent: { info: { id: { value: `S${String(i).padStart(4, '0')}` }, hostname: 'h' } } });
    await Promise.all(Array.from({ length: 1_100 }, (_, i) => registry.apply(admit(i))));
    await registry.apply({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'eng', weight: 2 }] });

    let secondLeads = false;
    const second = campaign(b, '/t1', 'B', 2).then((l) => ((secondLeads = true), l));
    await new Promise((r) => setTimeout(r, 300));
    expect(secondLeads).toBe(false);
    await first.resign();
    const leadership = await second;
    await waitUntil(() => detector.current() === undefined, 5_000, 'the old leader key to go with its lease');
    await expect(registry.apply(admit(5_000))).rejects.toThrow(/no longer the leader/);
    const recovered = await new EtcdRegistry(b, '/t1', leadership.fence).load();
    expect(recovered.agents).toHaveLength(1_100);
    expect(recovered.weights).toEqual([{ role: 'eng', weight: 2 }]);
    await detector.close();
    await leadership.resign();
  });

  it('gives up a lease it cannot renew before its TTL from the last renewal is over (etcd lost quorum)', async () => {
    const kv = client();
    const lease = await kv.grantLease(2);
    const started = Date.now();
    let lostAfterMs: number | undefined;
    void lease.lost.then(() => (lostAfterMs = Date.now() - started));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(lostAfterMs).toBeUndefined(); // renewed meanwhile
    const killedAt = Date.now();
    await etcd!.kill(1);
    await etcd!.kill(2);
    await waitUntil(() => lostAfterMs !== undefined, 5_000, 'the lease to be given up');
    // Given up within the TTL of the last renewal. etcd's leader member may go on renewing for up to an
    // election timeout (1 s here) before it notices it lost quorum: so at most TTL + 1 s after the kill.
    expect(Date.now() - killedAt).toBeLessThan(3_500);
  });
});
