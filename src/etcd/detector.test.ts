import { afterEach, describe, expect, it } from 'vitest';
import type { MasterInfo } from '../api/index.js';
import { EtcdMasterDetector, FakeEtcd, StandaloneMasterDetector, createMasterDetector, etcdKeys, masterUrl, parseEtcdUrl } from './index.js';

const info = (id: string, port: number): MasterInfo => ({ id, ip: 16777343, port, hostname: 'm.example', address: { hostname: 'm.example', ip: '127.0.0.1', port } });
const tick = () => new Promise((r) => setImmediate(r));

describe('etcd:// URLs', () => {
  it('read a zk-style list of members and an optional key prefix', () => {
    expect(parseEtcdUrl('etcd://127.0.0.1:2379')).toEqual({ endpoints: ['http://127.0.0.1:2379'], prefix: '/agora' });
    expect(parseEtcdUrl('etcd://a:1,b:2,[::1]:3/prod/agora/')).toEqual({
      endpoints: ['http://a:1', 'http://b:2', 'http://[::1]:3'],
      prefix: '/prod/agora',
    });
  });

  it('say what is wrong with a bad one', () => {
    expect(parseEtcdUrl('zk://a:1')).toEqual({ error: '"zk://a:1" does not start with etcd://' });
    expect(parseEtcdUrl('etcd://a:1,b')).toMatchObject({ error: expect.stringContaining('"b" in "etcd://a:1,b" is not HOST:PORT') });
    expect(parseEtcdUrl('etcd://a:0')).toMatchObject({ error: expect.stringContaining('is not HOST:PORT') });
    expect(parseEtcdUrl('etcd://a:1/x y')).toMatchObject({ error: expect.stringContaining('the key prefix') });
  });
});

describe('master detectors', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
  });

  it('follow the leader key in etcd: none, a leader, another leader, none again', async () => {
    const etcd = new FakeEtcd();
    const writer = etcd.client('writer');
    const detector = EtcdMasterDetector.start(etcd.client('agent'), '/agora');
    open.push(detector);
    const seen: Array<string | undefined> = [];
    detector.onChange((url) => seen.push(url));
    await tick();
    expect(detector.current()).toBeUndefined();
    const first = detector.leader(5_000);
    const lease = await writer.grantLease(2);
    await writer.txn([{ key: '/agora/other', exists: false }], [{ key: etcdKeys('/agora').leader, value: JSON.stringify(info('m1', 5050)), lease: lease.id }]);
    expect(await first).toBe('http://127.0.0.1:5050');
    expect(detector.currentInfo()?.id).toBe('m1');
    // The leader's lease ends: its key goes with it.
    await lease.revoke();
    await tick();
    expect(detector.current()).toBeUndefined();
    await writer.txn([{ key: '/agora/other', exists: false }], [{ key: etcdKeys('/agora').leader, value: JSON.stringify(info('m2', 5051)) }]);
    await tick();
    expect(seen).toEqual(['http://127.0.0.1:5050', undefined, 'http://127.0.0.1:5051']);
  });

  it('treat a leader key that is not a MasterInfo as no leader, and time out waiting, naming where they looked', async () => {
    const etcd = new FakeEtcd();
    await etcd.client().txn([{ key: 'x', exists: false }], [{ key: '/agora/leader', value: '{"nonsense":true}' }]);
    const detector = EtcdMasterDetector.start(etcd.client(), '/agora', { description: 'etcd://test' });
    open.push(detector);
    await tick();
    expect(detector.current()).toBeUndefined();
    await expect(detector.leader(50)).rejects.toThrow('no leading master in etcd://test after 50 ms');
  });

  it('for host:port, are that master; for anything else, refuse naming both forms', async () => {
    const standalone = createMasterDetector('127.0.0.1:5050');
    expect(standalone).toBeInstanceOf(StandaloneMasterDetector);
    expect(await standalone.leader(0)).toBe('http://127.0.0.1:5050');
    expect(createMasterDetector('http://m:1/').current()).toBe('http://m:1');
    expect(() => createMasterDetector('m')).toThrow('--master: "m" is neither HOST:PORT nor etcd://HOST:PORT[,HOST:PORT...]');
    expect(() => createMasterDetector('etcd://m')).toThrow('--master: "m" in "etcd://m" is not HOST:PORT');
  });

  it('reach a master by its address, else its packed ip', () => {
    expect(masterUrl(info('m', 1))).toBe('http://127.0.0.1:1');
    expect(masterUrl({ id: 'm', ip: 0x0100007f, port: 7 })).toBe('http://127.0.0.1:7');
  });
});
