/**
 * The agent's endpoint opened inside another network namespace, with real namespaces (root and
 * iproute2 needed): a client in the namespace reaches this process's HTTP server on the
 * namespace's own loopback, until the listener is closed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenInNetworkNamespace } from './netns-endpoint.js';

const run = promisify(execFile);

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need it';
  if (!['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'].some((p) => existsSync(p))) return "'nsenter' is missing (util-linux)";
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return "'ip' is missing (apt-get install iproute2)";
  }
  return undefined;
}

const skip = skipReason();

describe.skipIf(skip !== undefined)('listenInNetworkNamespace', () => {
  const name = `agora-test-${randomBytes(3).toString('hex')}`;
  const netns = `/run/netns/${name}`;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    server = createServer((req, res) => res.end(`agent answered ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    server?.close();
    execFileSync('ip', ['netns', 'delete', name]);
  });

  /** GET from inside the namespace (a child there; this process's loop keeps serving meanwhile). */
  const getInside = (path: string) =>
    run('ip', ['netns', 'exec', name, process.execPath, '-e', `fetch('http://127.0.0.1:${port}${path}').then((r) => r.text()).then((t) => process.stdout.write(t))`]);

  it("serves connections made to the namespace's loopback, and stops when closed", async () => {
    await expect(getInside('/before')).rejects.toThrow(); // Nothing listens there yet.
    const close = await listenInNetworkNamespace(netns, '127.0.0.1', port, (socket) => server.emit('connection', socket));
    expect((await getInside('/api/v1/executor')).stdout).toBe('agent answered /api/v1/executor');
    close();
    await expect(getInside('/after')).rejects.toThrow();
  });

  it('says why it cannot listen', async () => {
    await expect(listenInNetworkNamespace('/run/netns/no-such-namespace', '127.0.0.1', port, () => undefined)).rejects.toThrow(
      /cannot listen on 127\.0\.0\.1:\d+ in \/run\/netns\/no-such-namespace: .+/,
    );
  });
});
