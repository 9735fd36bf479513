import { describe, expect, it } from 'vitest';
import { CniResultError, containerIps, parseCniResult } from './result.js';

// What the bridge plugin 1.1.1 prints for a 1.0.0 configuration (real output, MACs shortened).
const bridgeResult = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cni-blue0', mac: '6e:1a:00:00:00:01' },
    { name: 'veth5f2c', mac: '6e:1a:00:00:00:02' },
    { name: 'eth0', mac: '6e:1a:00:00:00:03', sandbox: '/run/netns/agora-c1' },
  ],
  ips: [{ interface: 2, address: '10.88.7.2/24', gateway: '10.88.7.1' }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};

describe('parseCniResult', () => {
  it('reads interfaces, addresses and routes of a 1.0.0 result', () => {
    const result = parseCniResult(bridgeResult);
    expect(result.cniVersion).toBe('1.0.0');
    expect(result.interfaces.map((i) => i.name)).toEqual(['cni-blue0', 'veth5f2c', 'eth0']);
    expect(result.interfaces[2]?.sandbox).toBe('/run/netns/agora-c1');
    expect(result.ips).toEqual([{ version: 4, address: '10.88.7.2/24', ip: '10.88.7.2', gateway: '10.88.7.1', interface: 2 }]);
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0' }]);
  });

  it('reads 0.3.x/0.4.0 results, whose addresses carry a version', () => {
    const result = parseCniResult({ cniVersion: '0.4.0', ips: [{ version: '6', address: 'fd00::2/64' }] });
    expect(result.ips).toEqual([{ version: 6, address: 'fd00::2/64', ip: 'fd00::2' }]);
  });

  it('reads 0.1.0/0.2.0 results (ip4 and ip6)', () => {
    const result = parseCniResult({
      cniVersion: '0.2.0',
      ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: 'fd00::5/64' },
    });
    expect(result.ips.map((i) => [i.version, i.ip, i.gateway])).toEqual([
      [4, '10.1.0.5', '10.1.0.1'],
      [6, 'fd00::5', undefined],
    ]);
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0' }]);
  });

  it.each([
    ['not an object', 'ok', /not a JSON object/],
    ['an address without prefix length', { ips: [{ address: '10.0.0.2' }] }, /ips\[0\]\.address: "10\.0\.0\.2" is not an address with its prefix length/],
    ['an address that is no address', { ips: [{ address: 'ten/8' }] }, /ips\[0\]\.address/],
    ['an interface index out of range', { interfaces: [], ips: [{ address: '10.0.0.2/8', interface: 1 }] }, /ips\[0\]\.interface: 1 is not an index/],
    ['an ip4 that is IPv6', { ip4: { ip: 'fd00::1/64' } }, /ip4\.ip: fd00::1\/64 is not an IPv4 address/],
    ['a route without dst', { routes: [{ gw: '10.0.0.1' }] }, /routes\[0\]\.dst: missing/],
  ])('rejects %s, naming the field', (_what, raw, message) => {
    expect(() => parseCniResult(raw)).toThrow(CniResultError);
    expect(() => parseCniResult(raw)).toThrow(message);
  });
});

describe('containerIps', () => {
  it('keeps addresses inside the container, IPv4 first', () => {
    const result = parseCniResult({
      interfaces: [{ name: 'br0' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [
        { address: 'fd00::2/64', interface: 1 },
        { address: '10.0.0.1/24', interface: 0 },
        { address: '10.0.0.2/24', interface: 1 },
      ],
    });
    expect(containerIps(result).map((i) => i.ip)).toEqual(['10.0.0.2', 'fd00::2']);
  });

  it('keeps every address when the plugin does not say which interface has it', () => {
    expect(containerIps(parseCniResult({ ips: [{ address: '10.0.0.2/24' }] })).map((i) => i.ip)).toEqual(['10.0.0.2']);
  });
});
