import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPluginsExist, findPlugin, loadNetworkConfigs, NetworkConfigError, parseNetworkConfig } from './config.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-cni-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const bridgeList = {
  cniVersion: '1.0.0',
  name: 'blue',
  plugins: [
    { type: 'bridge', bridge: 'cni-blue0', ipam: { type: 'host-local', subnet: '10.88.7.0/24' } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

function parseError(text: string, file = '/etc/cni/net.d/10-x.conflist'): string {
  try {
    parseNetworkConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(NetworkConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a NetworkConfigError');
}

describe('parseNetworkConfig', () => {
  it('reads a .conflist: name, version and plugins in order', () => {
    const list = parseNetworkConfig(JSON.stringify(bridgeList), '/d/10-blue.conflist');
    expect(list).toMatchObject({ name: 'blue', cniVersion: '1.0.0', disableCheck: false, format: 'conflist', source: '/d/10-blue.conflist' });
    expect(list.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    expect(list.plugins[0]).toEqual(bridgeList.plugins[0]);
  });

  it('reads a .conf as a list of one plugin, as libcni does', () => {
    const list = parseNetworkConfig(JSON.stringify({ cniVersion: '0.4.0', name: 'red', type: 'bridge', bridge: 'br-red' }), '/d/red.conf');
    expect(list).toMatchObject({ name: 'red', cniVersion: '0.4.0', format: 'conf' });
    expect(list.plugins).toEqual([{ cniVersion: '0.4.0', name: 'red', type: 'bridge', bridge: 'br-red' }]);
  });

  it('reads disableCheck as a boolean or the string the spec shows', () => {
    expect(parseNetworkConfig(JSON.stringify({ ...bridgeList, disableCheck: true }), 'a.conflist').disableCheck).toBe(true);
    expect(parseNetworkConfig(JSON.stringify({ ...bridgeList, disableCheck: 'true' }), 'a.conflist').disableCheck).toBe(true);
  });

  it.each([
    ['not JSON', '{"name": ', /10-x\.conflist: not valid JSON: /],
    ['not an object', '[1]', /10-x\.conflist: must hold a JSON object, not a list/],
    ['no name', JSON.stringify({ plugins: [{ type: 'bridge' }] }), /10-x\.conflist: name: is missing/],
    ['a bad name', JSON.stringify({ ...bridgeList, name: '-blue' }), /10-x\.conflist: name: "-blue" is not a network name/],
    ['a bad version', JSON.stringify({ ...bridgeList, cniVersion: 1 }), /10-x\.conflist: cniVersion: 1 is not a CNI version/],
    ['no plugins', JSON.stringify({ name: 'blue', plugins: [] }), /10-x\.conflist: plugins: must be a non-empty list/],
    ['a plugin without type', JSON.stringify({ name: 'blue', plugins: [{ type: 'bridge' }, { bridge: 'x' }] }), /plugins\[1\]\.type: is missing/],
    ['a type with a path', JSON.stringify({ name: 'blue', plugins: [{ type: '../../bin/sh' }] }), /plugins\[0\]\.type: "\.\.\/\.\.\/bin\/sh" is not a plugin name/],
    ['an ipam without type', JSON.stringify({ name: 'blue', plugins: [{ type: 'bridge', ipam: {} }] }), /plugins\[0\]\.ipam\.type: is missing/],
    ['bad capabilities', JSON.stringify({ name: 'blue', plugins: [{ type: 'portmap', capabilities: ['portMappings'] }] }), /plugins\[0\]\.capabilities: must map capability names/],
    ['a bad disableCheck', JSON.stringify({ ...bridgeList, disableCheck: 'yes' }), /disableCheck: must be true or false/],
  ])('names the file and field of %s', (_what, text, message) => {
    expect(parseError(text)).toMatch(message);
  });

  it('names the top-level field of a single-plugin file', () => {
    expect(parseError(JSON.stringify({ name: 'red', type: '' }), '/d/red.conf')).toMatch(/^\/d\/red\.conf: type: "" is not a plugin name/);
  });
});

describe('loadNetworkConfigs', () => {
  it('reads .conf, .conflist and .json files in name order and skips everything else', async () => {
    writeFileSync(join(dir, '20-blue.conflist'), JSON.stringify(bridgeList));
    writeFileSync(join(dir, '10-red.conf'), JSON.stringify({ cniVersion: '0.4.0', name: 'red', type: 'bridge' }));
    writeFileSync(join(dir, '30-green.json'), JSON.stringify({ name: 'green', type: 'ptp' }));
    writeFileSync(join(dir, 'README'), 'not a network');
    mkdirSync(join(dir, 'old.conf'));
    const networks = await loadNetworkConfigs(dir);
    expect([...networks.keys()]).toEqual(['red', 'blue', 'green']);
    expect(networks.get('blue')?.source).toBe(join(dir, '20-blue.conflist'));
  });

  it('refuses two files that define one network, naming both', async () => {
    writeFileSync(join(dir, '10-a.conflist'), JSON.stringify(bridgeList));
    writeFileSync(join(dir, '20-b.conflist'), JSON.stringify(bridgeList));
    await expect(loadNetworkConfigs(dir)).rejects.toThrow(
      `${join(dir, '20-b.conflist')}: name: network "blue" is already defined by ${join(dir, '10-a.conflist')}`,
    );
  });

  it('names the directory it cannot read', async () => {
    await expect(loadNetworkConfigs(join(dir, 'missing'))).rejects.toThrow(`cannot read the directory '${join(dir, 'missing')}'`);
  });

  it('names the file of a bad configuration', async () => {
    writeFileSync(join(dir, '10-bad.conflist'), '{');
    await expect(loadNetworkConfigs(dir)).rejects.toThrow(`${join(dir, '10-bad.conflist')}: not valid JSON`);
  });
});

describe('plugins', () => {
  it('are found in the first directory that has them, and must be executable', async () => {
    const first = join(dir, 'a');
    const second = join(dir, 'b');
    mkdirSync(first);
    mkdirSync(second);
    writeFileSync(join(first, 'bridge'), '');
    writeFileSync(join(second, 'bridge'), '#!/bin/sh\n');
    chmodSync(join(second, 'bridge'), 0o755);
    if (process.getuid?.() !== 0) {
      // Root may execute anything with an x bit; a file without one is skipped by everyone.
      expect(await findPlugin('bridge', [first, second])).toBe(join(second, 'bridge'));
    }
    chmodSync(join(first, 'bridge'), 0o755);
    expect(await findPlugin('bridge', [first, second])).toBe(join(first, 'bridge'));
    expect(await findPlugin('portmap', [first, second])).toBeUndefined();
  });

  it('missing from the plugin directories are named with the file and field that use them', async () => {
    writeFileSync(join(dir, 'bridge'), '#!/bin/sh\n');
    chmodSync(join(dir, 'bridge'), 0o755);
    const list = parseNetworkConfig(JSON.stringify(bridgeList), '/d/10-blue.conflist');
    await expect(checkPluginsExist([list], [dir])).rejects.toThrow(
      `/d/10-blue.conflist: plugins[0].ipam.type: no executable plugin "host-local" in ${dir}`,
    );
  });
});
