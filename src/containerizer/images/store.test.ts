import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Provisioner } from './provisioner.js';
import { HttpRegistry } from './registry-http.js';
import { LocalRegistry } from './registry-local.js';
import { ImagePullError, ImageStore } from './store.js';
import { makeTar, makeTarGz, type TarEntry } from './tar-fixture.test-support.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const dirs: string[] = [];
const servers: Server[] = [];
function temp(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'agora-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const BASE: TarEntry[] = [{ path: 'bin/tool', content: 'tool', mode: 0o755 }, { path: 'etc/motd', content: 'base' }];
const TOP: TarEntry[] = [{ path: 'etc/.wh.motd' }, { path: 'app', content: 'app' }];
const CONFIG = { architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/bin/tool'], Cmd: ['x'], Env: ['A=1'], WorkingDir: '/w' } };

/** A `docker save` archive: manifest.json, config, <id>/layer.tar. */
function dockerSave(tags: string[], layers: TarEntry[][]): Buffer {
  const config = JSON.stringify(CONFIG);
  const entries: TarEntry[] = [{ path: 'cfg.json', content: config }];
  const names = layers.map((l, i) => {
    entries.push({ path: `l${i}/layer.tar`, content: makeTar(l) });
    return `l${i}/layer.tar`;
  });
  entries.push({ path: 'manifest.json', content: JSON.stringify([{ Config: 'cfg.json', RepoTags: tags, Layers: names }]) });
  return makeTar(entries);
}

/** An OCI image layout archive with one image named `tag`. */
function ociLayout(tag: string, layers: TarEntry[][]): Buffer {
  const blobs = new Map<string, Buffer>();
  const add = (b: Buffer) => (blobs.set(sha(b), b), sha(b));
  const layerDescs = layers.map((l) => {
    const b = makeTarGz(l);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: add(b), size: b.length };
  });
  const cfg = Buffer.from(JSON.stringify(CONFIG));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: add(cfg), size: cfg.length }, layers: layerDescs }));
  const md = add(manifest);
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }] };
  return makeTar([
    { path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { path: 'index.json', content: JSON.stringify(index) },
    ...[...blobs].map(([d, b]) => ({ path: `blobs/sha256/${d.slice(7)}`, content: b })),
  ]);
}

describe('the image store with a local registry (a directory of tarballs)', () => {
  it('pulls a docker-save image once for concurrent callers, shares layers, and builds a rootfs with whiteouts applied', async () => {
    const registry = temp();
    writeFileSync(join(registry, 'app:v1.tar'), dockerSave(['app:v1'], [BASE, TOP]));
    writeFileSync(join(registry, 'other.tar'), dockerSave(['other:latest'], [BASE]));
    const store = new ImageStore({ dir: join(temp(), 'store'), registry: new LocalRegistry(registry) });
    const [a, b] = await Promise.all([store.get('app:v1'), store.get('app:v1')]);
    expect(a).toBe(b);
    expect(store.stats.pulls).toBe(1);
    expect(a.config).toEqual(CONFIG.config);
    expect(a.layers.map((l) => l.digest)).toEqual([sha(makeTar(BASE)), sha(makeTar(TOP))]);
    const other = await store.get('other');
    expect(other.layers[0]!.rootfs).toBe(a.layers[0]!.rootfs);
    expect(store.stats.layersUnpacked).toBe(2);
    // Cached: no second pull.
    await store.get('app:v1');
    expect(store.stats.pulls).toBe(2);

    const provisioner = new Provisioner({ store, dir: join(temp(), 'provisioner'), backend: 'copy' });
    const rootfs = await provisioner.provision('c1', { name: 'app:v1' });
    expect(readFileSync(join(rootfs.rootfs, 'app'), 'utf8')).toBe('app');
    expect(existsSync(join(rootfs.rootfs, 'etc/motd'))).toBe(false);
    expect(readFileSync(join(rootfs.rootfs, 'bin/tool'), 'utf8')).toBe('tool');
    await rootfs.release();
    expect(existsSync(rootfs.rootfs)).toBe(false);
  });

  it('reads OCI layout archives and verifies their blobs', async () => {
    const registry = temp();
    writeFileSync(join(registry, 'oci:v2.tar'), ociLayout('v2', [BASE]));
    const store = new ImageStore({ dir: join(temp(), 'store'), registry: new LocalRegistry(registry) });
    const image = await store.get('oci:v2');
    expect(readFileSync(join(image.layers[0]!.rootfs, 'etc/motd'), 'utf8')).toBe('base');

    const bad = ociLayout('v2', [BASE]).toString('latin1').replace('tool', 'TOOL');
    writeFileSync(join(registry, 'bad:v2.tar'), Buffer.from(bad, 'latin1'));
    await expect(new ImageStore({ dir: join(temp(), 's2'), registry: new LocalRegistry(registry) }).get('bad:v2')).rejects.toThrow(ImagePullError);
  });

  it("fails with the image's name and what was looked for when it is missing", async () => {
    const store = new ImageStore({ dir: join(temp(), 'store'), registry: new LocalRegistry(temp()) });
    await expect(store.get('nope:1')).rejects.toThrow(/Failed to pull image 'nope:1' from the local registry .*: no such image \(looked for nope:1.tar/);
    await expect(store.get('Bad Name')).rejects.toThrow(/Failed to pull image 'Bad Name'/);
  });
});

/** A Registry HTTP API v2 with Bearer token auth, serving one image (and a manifest list). */
async function fakeRegistry(options: { slowBlobs?: boolean } = {}) {
  const blobs = new Map<string, Buffer>();
  const add = (b: Buffer) => (blobs.set(sha(b), b), sha(b));
  const layers = [makeTarGz(BASE), makeTarGz(TOP)].map((b) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: add(b), size: b.length }));
  const cfg = Buffer.from(JSON.stringify(CONFIG));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: add(cfg), size: cfg.length }, layers }));
  const md = sha(manifest);
  const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [
    { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: sha('other'), size: 5, platform: { os: 'linux', architecture: 's390x' } },
    { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: md, size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: md, size: manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
  ] }));
  const hits = { token: 0, blobs: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/token') {
      hits.token++;
      expect(url.searchParams.get('scope')).toBe('repository:app:pull');
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ token: 'T0K' }));
    }
    if (req.headers.authorization !== 'Bearer T0K') {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.1:${(server.address() as AddressInfo).port}/token",service="fake",scope="repository:app:pull"`);
      return res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    const m = /^\/v2\/app\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (m?.[1] === 'manifests' && m[2] === 'latest') {
      res.setHeader('content-type', 'application/vnd.docker.distribution.manifest.list.v2+json');
      return res.end(list);
    }
    if (m?.[1] === 'manifests' && m[2] === md) {
      res.setHeader('content-type', 'application/vnd.docker.distribution.manifest.v2+json');
      return res.end(manifest);
    }
    const blob = m?.[1] === 'blobs' ? blobs.get(m[2]!) : undefined;
    if (blob !== undefined) {
      hits.blobs++;
      if (options.slowBlobs) return setTimeout(() => res.end(blob), 2_000);
      return res.end(blob);
    }
    res.statusCode = 404;
    res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, hits, md };
}

describe('the image store with a Registry HTTP API v2', () => {
  it('answers the Bearer challenge, picks linux/<arch> from a manifest list, and verifies blobs', async () => {
    const fake = await fakeRegistry();
    const registry = new HttpRegistry({ defaultRegistry: new URL('https://unused.invalid') });
    const store = new ImageStore({ dir: join(temp(), 'store'), registry });
    const image = await store.get(`${fake.host}/app`);
    expect(image.manifestDigest).toBe(fake.md);
    expect(image.config.Entrypoint).toEqual(['/bin/tool']);
    expect(image.layers).toHaveLength(2);
    expect(fake.hits.token).toBe(1);
    expect(fake.hits.blobs).toBe(3); // config + 2 layers
    // A forced re-pull (Image.cached=false) fetches manifests again but no stored layer.
    await store.get(`${fake.host}/app`, { cached: false });
    expect(fake.hits.blobs).toBe(4);
  });

  it('says which image and why: unknown tag, registry down, digest mismatch, timeout', async () => {
    const fake = await fakeRegistry({ slowBlobs: true });
    const registry = new HttpRegistry({ defaultRegistry: new URL('https://unused.invalid') });
    const store = new ImageStore({ dir: join(temp(), 'store'), registry, pullTimeoutMs: 500 });
    await expect(store.get(`${fake.host}/app:nope`)).rejects.toThrow(`Failed to pull image '${fake.host}/app:nope' from http://${fake.host}: manifest app:nope: not found (MANIFEST_UNKNOWN manifest unknown)`);
    await expect(store.get(`${fake.host}/app@sha256:${'0'.repeat(64)}`)).rejects.toThrow(/not found/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(store.get(`127.0.0.1:${port}/app`)).rejects.toThrow(`cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
    await expect(store.get(`${fake.host}/app`)).rejects.toThrow(/did not finish within 1 s \(--docker_pull_timeout\)/);
  });
});
