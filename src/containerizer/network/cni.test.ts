import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNetworkConfig, type NetworkConfigList } from './config.js';
import { CniRunner, pluginConfig, type RuntimeConf } from './cni.js';
import { CniPluginError } from './plugin.js';
import { fakeCalls, fakeResult, writeFakePlugin } from './fake-plugin.test-support.js';

let dir: string;
let pluginDir: string;
let logDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-cni-'));
  pluginDir = join(dir, 'plugins');
  logDir = join(dir, 'log');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function list(plugins: object[], extra: object = {}): NetworkConfigList {
  return parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'blue', plugins, ...extra }), '/d/blue.conflist');
}

const rt: RuntimeConf = {
  containerId: 'c1',
  netns: '/run/netns/agora-c1',
  ifName: 'eth0',
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
};

function runner(timeoutMs?: number): CniRunner {
  // A fixed environment: the test checks that plugins inherit it besides the CNI_* variables.
  return new CniRunner({
    pluginDirs: [pluginDir, '/nonexistent'],
    env: { PATH: '/usr/bin:/bin', CNI_ARGS: 'stale=1' },
    ...(timeoutMs === undefined ? {} : { pluginTimeoutMs: timeoutMs }),
  });
}

const chain = [
  { type: 'first', bridge: 'br0', ipam: { type: 'host-local' } },
  { type: 'second', capabilities: { portMappings: true } },
  { type: 'third', capabilities: { portMappings: false } },
];

describe('ADD', () => {
  it('calls the plugins in order with the CNI variables and the list name and version in each config', async () => {
    for (const p of ['first', 'second', 'third']) writeFakePlugin(pluginDir, logDir, p);
    const result = await runner().add(list(chain), rt);
    const calls = fakeCalls(logDir);
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).toEqual(['first ADD', 'second ADD', 'third ADD']);
    for (const call of calls) {
      expect(call.env).toEqual({
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c1',
        CNI_NETNS: '/run/netns/agora-c1',
        CNI_IFNAME: 'eth0',
        CNI_PATH: `${pluginDir}:/nonexistent`,
      });
      expect(call.config).toMatchObject({ name: 'blue', cniVersion: '1.0.0', type: call.plugin });
    }
    expect(calls[0]!.config).toEqual({ cniVersion: '1.0.0', name: 'blue', type: 'first', bridge: 'br0', ipam: { type: 'host-local' } });
    // Each plugin after the first gets the previous one's result; the last result is the list's.
    expect(calls[1]!.config['prevResult']).toEqual(fakeResult('first'));
    expect(calls[2]!.config['prevResult']).toEqual(fakeResult('second'));
    expect(result).toEqual(fakeResult('third'));
  });

  it('gives runtimeConfig only to plugins that declare the capability', async () => {
    for (const p of ['first', 'second', 'third']) writeFakePlugin(pluginDir, logDir, p);
    await runner().add(list(chain), rt);
    const [first, second, third] = fakeCalls(logDir);
    expect(first!.config['runtimeConfig']).toBeUndefined();
    expect(second!.config['runtimeConfig']).toEqual({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    expect(third!.config['runtimeConfig']).toBeUndefined();
  });

  it('passes the previous result on when a plugin prints nothing', async () => {
    writeFakePlugin(pluginDir, logDir, 'first');
    writeFakePlugin(pluginDir, logDir, 'second', { silentAdd: true });
    expect(await runner().add(list(chain.slice(0, 2)), rt)).toEqual(fakeResult('first'));
  });

  it('stops at a failing plugin and reports its CNI error', async () => {
    writeFakePlugin(pluginDir, logDir, 'first', {
      failOn: { command: 'ADD', error: { cniVersion: '1.0.0', code: 7, msg: 'bad bridge', details: 'br0 is busy' } },
    });
    writeFakePlugin(pluginDir, logDir, 'second');
    const error = await runner().add(list(chain.slice(0, 2)), rt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CniPluginError);
    expect((error as CniPluginError).code).toBe(7);
    expect((error as Error).message).toBe("CNI plugin 'first' (ADD) failed: bad bridge: br0 is busy (CNI error code 7, invalid network config)");
    expect(fakeCalls(logDir).map((c) => c.plugin)).toEqual(['first']);
  });

  it('reports what a plugin wrote to stderr when it prints no error object', async () => {
    writeFakePlugin(pluginDir, logDir, 'first', { crashOn: { command: 'ADD', stderr: 'panic: nil map', status: 2 } });
    await expect(runner().add(list(chain.slice(0, 1)), rt)).rejects.toThrow("CNI plugin 'first' (ADD) exited with status 2: panic: nil map");
  });

  it('kills a plugin that does not answer in time', async () => {
    writeFakePlugin(pluginDir, logDir, 'first', { sleepSecs: 5 });
    await expect(runner(200).add(list(chain.slice(0, 1)), rt)).rejects.toThrow(
      "CNI plugin 'first' (ADD) did not finish within 200 ms and was killed",
    );
  });

  it('names the plugin that is not installed', async () => {
    await expect(runner().add(list(chain.slice(0, 1)), rt)).rejects.toThrow(
      `network "blue" (/d/blue.conflist): no executable plugin "first" in ${pluginDir}:/nonexistent`,
    );
  });

  it('passes CNI_ARGS as K=V pairs', async () => {
    writeFakePlugin(pluginDir, logDir, 'first');
    await runner().add(list(chain.slice(0, 1)), { ...rt, args: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'x']] });
    expect(fakeCalls(logDir)[0]!.env['CNI_ARGS']).toBe('IgnoreUnknown=1;K8S_POD_NAME=x');
  });
});

describe('DEL', () => {
  it('calls the plugins in reverse order with the ADD result and the capability values again', async () => {
    for (const p of ['first', 'second', 'third']) writeFakePlugin(pluginDir, logDir, p);
    const added = await runner().add(list(chain), rt);
    rmSync(logDir, { recursive: true });
    writeFakePlugin(pluginDir, logDir, 'first');
    await runner().del(list(chain), rt, added);
    const calls = fakeCalls(logDir);
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).toEqual(['third DEL', 'second DEL', 'first DEL']);
    expect(calls.every((c) => JSON.stringify(c.config['prevResult']) === JSON.stringify(fakeResult('third')))).toBe(true);
    // Without the port mappings again, the portmap plugin would leave its DNAT rules behind.
    expect(calls[1]!.config['runtimeConfig']).toEqual({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    expect(calls[0]!.env['CNI_COMMAND']).toBe('DEL');
  });

  it('sends no prevResult before version 0.4.0, as libcni', async () => {
    writeFakePlugin(pluginDir, logDir, 'first');
    await runner().del(list(chain.slice(0, 1), { cniVersion: '0.3.1' }), rt, fakeResult('first'));
    expect(fakeCalls(logDir)[0]!.config['prevResult']).toBeUndefined();
  });

  it('works without an ADD result (ADD never finished)', async () => {
    writeFakePlugin(pluginDir, logDir, 'first');
    await runner().del(list(chain.slice(0, 1)), rt);
    expect(fakeCalls(logDir)[0]!.config['prevResult']).toBeUndefined();
  });
});

describe('CHECK', () => {
  it('calls the plugins in order with the ADD result', async () => {
    writeFakePlugin(pluginDir, logDir, 'first');
    writeFakePlugin(pluginDir, logDir, 'second');
    await runner().check(list(chain.slice(0, 2)), rt, fakeResult('second'));
    const calls = fakeCalls(logDir);
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).toEqual(['first CHECK', 'second CHECK']);
    expect(calls[0]!.config['prevResult']).toEqual(fakeResult('second'));
  });

  it('is skipped when the list disables it or predates 0.4.0', async () => {
    writeFakePlugin(pluginDir, logDir, 'first');
    await runner().check(list(chain.slice(0, 1), { disableCheck: true }), rt, {});
    await runner().check(list(chain.slice(0, 1), { cniVersion: '0.3.1' }), rt, {});
    expect(fakeCalls(logDir)).toEqual([]);
  });

  it('fails with the plugin message', async () => {
    writeFakePlugin(pluginDir, logDir, 'first', { failOn: { command: 'CHECK', error: { code: 3, msg: 'eth0 is gone' } } });
    await expect(runner().check(list(chain.slice(0, 1)), rt, {})).rejects.toThrow(
      "CNI plugin 'first' (CHECK) failed: eth0 is gone (CNI error code 3, container unknown or does not exist)",
    );
  });
});

describe('pluginConfig', () => {
  it('merges the runtime args into the plugin args', () => {
    const l = list([{ type: 'first', args: { labels: { a: '1' } } }]);
    const config = pluginConfig(l, l.plugins[0]!, { ...rt, configArgs: { 'org.apache.mesos': { network_info: { name: 'blue' } } } });
    expect(config['args']).toEqual({ labels: { a: '1' }, 'org.apache.mesos': { network_info: { name: 'blue' } } });
  });

  it('leaves the version out when the file has none', () => {
    const l = parseNetworkConfig(JSON.stringify({ name: 'old', type: 'bridge' }), '/d/old.conf');
    expect(pluginConfig(l, l.plugins[0]!, rt)).toEqual({ name: 'old', type: 'bridge' });
  });
});
