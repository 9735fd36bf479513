import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { MasterInfo } from '../../api/index.js';
import { FakeEtcd, type FakeEtcdClient } from '../../etcd/index.js';
import type { Registry, RegistryState } from '../registry/index.js';
import { campaign } from './contender.js';
import { HaMaster, type Term } from './ha-master.js';

const silent = pino({ level: 'silent' });
const tick = () => new Promise((r) => setImmediate(r));

async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('campaign (etcd election)', () => {
  it('elects the oldest contender; the next one leads once its predecessor is gone, and not before', async () => {
    const etcd = new FakeEtcd();
    const a = etcd.client('a');
    const b = etcd.client('b');
    const first = await campaign(a, '/agora', 'A', 2);
    let secondElected = false;
    const second = campaign(b, '/agora', 'B', 2).then((l) => {
      secondElected = true;
      return l;
    });
    await tick();
    await tick();
    expect(secondElected).toBe(false);
    const info = { id: 'A', ip: 0, port: 1 } as MasterInfo;
    expect(await first.publish(info)).toBe(true);
    expect(etcd.peek('/agora/leader')).toBe(JSON.stringify(info));
    // A dies: its lease expires, its keys go, B leads; A's late publish is refused (fenced).
    etcd.expireLeases(a);
    const leadership = await second;
    expect(leadership.fence).toMatch(/^\/agora\/election\//);
    expect(etcd.peek('/agora/leader')).toBeUndefined();
    expect(await first.publish(info)).toBe(false);
    expect(await leadership.publish({ ...info, id: 'B' })).toBe(true);
    // Resigning hands over at once.
    const c = campaign(etcd.client('c'), '/agora', 'C', 2);
    await leadership.resign();
    expect((await c).fence).not.toBe(leadership.fence);
  });

  it('fails when its lease is lost while it waits, and can be aborted', async () => {
    const etcd = new FakeEtcd();
    await campaign(etcd.client('a'), '/agora', 'A', 2);
    const b = etcd.client('b');
    const waiting = campaign(b, '/agora', 'B', 2);
    await tick();
    etcd.expireLeases(b);
    await expect(waiting).rejects.toThrow(/expired/);
    const abort = new AbortController();
    const aborted = campaign(etcd.client('c'), '/agora', 'C', 2, abort.signal);
    await tick();
    abort.abort();
    await expect(aborted).rejects.toThrow('the campaign was stopped');
  });
});

/** Two masters on one fake etcd; each term records the registry it recovered. */
function twoMasters(etcd: FakeEtcd) {
  const made: Array<{ ha: HaMaster; client: FakeEtcdClient; terms: Array<{ info: MasterInfo; recovered: RegistryState; registry: Registry; stopped: boolean }> }> = [];
  for (const [name, port] of [['m1', 5050], ['m2', 5051]] as const) {
    const client = etcd.client(name);
    const terms: (typeof made)[number]['terms'] = [];
    let n = 0;
    const ha = new HaMaster({
      kv: client,
      prefix: '/agora',
      leaseTtlSeconds: 2,
      log: silent,
      retryMs: 10,
      masterInfo: () => ({ id: `${name}-${n++}`, ip: 0, port, hostname: `${name}.example`, address: { hostname: `${name}.example`, ip: '127.0.0.1', port } }),
      lead: (registry, recovered, info): Term => {
        const term = { info, recovered, registry, stopped: false };
        terms.push(term);
        return { stop: () => (term.stopped = true) };
      },
    });
    made.push({ ha, client, terms });
  }
  return made;
}

describe('HaMaster', () => {
  const running: HaMaster[] = [];
  afterEach(async () => {
    for (const ha of running.splice(0)) await ha.stop();
  });

  it('leads once elected and the registry is read; the standby points to it; a crash hands over with the registry', async () => {
    const etcd = new FakeEtcd();
    const [m1, m2] = twoMasters(etcd);
    m1!.ha.start();
    running.push(m1!.ha);
    await until(() => m1!.ha.role().kind === 'leading', 'm1 to lead');
    m2!.ha.start();
    running.push(m2!.ha);
    await until(() => m2!.ha.role().kind === 'standby' && (m2!.ha.role() as { leader?: unknown }).leader !== undefined, 'm2 to see m1');
    expect(m2!.ha.role()).toEqual({ kind: 'standby', leader: { hostname: 'm1.example', port: 5050 } });
    expect(JSON.parse(etcd.peek('/agora/leader')!).id).toBe('m1-0');

    // The leader stores weights; then its process dies.
    await m1!.terms[0]!.registry.apply({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'eng', weight: 2 }] });
    etcd.crash(m1!.client);
    await until(() => m2!.ha.role().kind === 'leading', 'm2 to lead');
    expect(m2!.terms[0]!.recovered.weights).toEqual([{ role: 'eng', weight: 2 }]);
    expect(JSON.parse(etcd.peek('/agora/leader')!).id).toBe('m2-0');
  });

  it('steps down to standby when its lease is lost, stops its term, and campaigns again with a new id', async () => {
    const etcd = new FakeEtcd();
    const [m1, m2] = twoMasters(etcd);
    m1!.ha.start();
    running.push(m1!.ha);
    await until(() => m1!.ha.role().kind === 'leading', 'm1 to lead');
    m2!.ha.start();
    running.push(m2!.ha);
    await tick();
    const oldRegistry = m1!.terms[0]!.registry;
    etcd.expireLeases(m1!.client); // m1 could not renew its lease: etcd dropped it
    await until(() => m2!.ha.role().kind === 'leading', 'm2 to lead');
    await until(() => m1!.terms[0]!.stopped, 'm1 to stop its term');
    await until(() => m1!.ha.role().kind === 'standby' && (m1!.ha.role() as { leader?: unknown }).leader !== undefined, 'm1 to follow m2');
    expect(m1!.ha.role()).toEqual({ kind: 'standby', leader: { hostname: 'm2.example', port: 5051 } });
    // Its old term can no longer write.
    await expect(oldRegistry.apply({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'x', weight: 2 }] })).rejects.toThrow(/no longer the leader/);
    // When m2 stops (SIGTERM), it resigns and m1 leads again, as a new term with a new id.
    await m2!.ha.stop();
    running.splice(running.indexOf(m2!.ha), 1);
    await until(() => m1!.ha.role().kind === 'leading', 'm1 to lead again');
    expect(m1!.terms.map((t) => t.info.id)).toEqual(['m1-0', 'm1-1']);
  });

  it('is a standby with no leader to point to while none is elected', async () => {
    const etcd = new FakeEtcd();
    const [m1] = twoMasters(etcd);
    // Another process holds the election but has not published itself yet.
    await campaign(etcd.client('other'), '/agora', 'X', 2);
    m1!.ha.start();
    running.push(m1!.ha);
    await tick();
    expect(m1!.ha.role()).toEqual({ kind: 'standby', leader: undefined });
  });
});
