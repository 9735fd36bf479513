/**
 * A CNI bridge network for end-to-end tests: a /24 no route on this machine uses yet (tests in
 * parallel each take their own), and a conflist with the standard bridge and host-local plugins
 * (and portmap when asked) in `<dir>/net.d`, for the agent's --network_cni_config_dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The first three octets of a free /24 under `prefix` ("10.88"), e.g. "10.88.123". */
export function freeSubnet(prefix = '10.89'): string {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (;;) {
    const subnet = `${prefix}.${10 + Math.floor(Math.random() * 240)}`;
    if (!routes.includes(`${subnet}.`)) return subnet;
  }
}

/** Writes the network's conflist; returns the config directory. */
export function writeBridgeNetwork(dir: string, network: { name: string; bridge: string; subnet: string; portmap?: boolean }): string {
  const configDir = join(dir, 'net.d');
  mkdirSync(configDir, { recursive: true });
  const bridge = {
    type: 'bridge',
    bridge: network.bridge,
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: `${network.subnet}.0/24` }]], routes: [{ dst: '0.0.0.0/0' }] },
  };
  const plugins = network.portmap === true ? [bridge, { type: 'portmap', capabilities: { portMappings: true }, snat: true }] : [bridge];
  writeFileSync(join(configDir, `10-${network.name}.conflist`), JSON.stringify({ cniVersion: '1.0.0', name: network.name, plugins }));
  return configDir;
}
