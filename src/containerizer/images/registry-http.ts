/**
 * A Docker/OCI registry over the Registry HTTP API v2: manifests (schema 2, OCI, lists and
 * indexes), blobs by digest, Bearer token and Basic authentication. Node's fetch; no daemon.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type BlobStore, digestOfBytes } from './blobs.js';
import { MEDIA, parseImageConfig, parseManifest, pickPlatform, type PulledImage, type Registry } from './manifest.js';
import { DOCKER_HUB_REGISTRY, type ImageReference, isLoopbackRegistry, manifestReference } from './reference.js';

const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

/** `user:password` per registry host, from a Docker config file (`auths`). */
export type Credentials = Map<string, { username: string; password: string }>;

/**
 * Reads `--docker_config`: a path to a Docker `config.json`, or its JSON text. Only `auths`
 * entries with `auth` (base64 user:password) or `username`/`password` are used.
 */
export function loadDockerConfig(value: string): Credentials {
  const text = value.trim().startsWith('{') ? value : readFileSync(value, 'utf8');
  const json = JSON.parse(text) as { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  const out: Credentials = new Map();
  for (const [key, entry] of Object.entries(json.auths ?? {})) {
    let username = entry.username;
    let password = entry.password;
    if (entry.auth !== undefined) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) [username, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    }
    if (username === undefined || password === undefined) continue;
    const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    out.set(host === 'index.docker.io' ? DOCKER_HUB_REGISTRY : host, { username, password });
  }
  return out;
}

export interface HttpRegistryOptions {
  /** Where names without a registry host go: `https://registry-1.docker.io` by default. */
  defaultRegistry: URL;
  credentials?: Credentials;
  fetch?: typeof fetch;
}

export class HttpRegistry implements Registry {
  private readonly fetchFn: typeof fetch;
  /** Bearer tokens by `host|scope`; registries issue them for minutes, a pull takes less. */
  private readonly tokens = new Map<string, string>();

  constructor(private readonly options: HttpRegistryOptions) {
    this.fetchFn = options.fetch ?? fetch;
  }

  where(ref: ImageReference): string {
    return this.baseUrl(ref);
  }

  async pull(ref: ImageReference, blobs: BlobStore, signal: AbortSignal): Promise<PulledImage> {
    const base = this.baseUrl(ref);
    const repo = ref.repository;
    let { text, digest, contentType } = await this.getManifest(base, repo, manifestReference(ref), signal);
    if (ref.digest !== undefined && digest !== ref.digest) {
      throw new Error(`the manifest has digest ${digest}, not the ${ref.digest} the image name asks for`);
    }
    let manifest = parseManifest(text, contentType);
    if (manifest.kind === 'index') {
      const chosen = pickPlatform(manifest.manifests);
      ({ text, digest, contentType } = await this.getManifest(base, repo, chosen.digest, signal));
      if (digest !== chosen.digest) throw new Error(`manifest ${chosen.digest} arrived with digest ${digest}`);
      manifest = parseManifest(text, contentType);
      if (manifest.kind !== 'image') throw new Error('an index points at another index; agora reads one level');
    }
    const configText = await this.getBlobText(base, repo, manifest.config.digest, signal);
    const layers = manifest.layers.map((l) => l.digest);
    // Layers already stored (by this image or another) are not fetched again.
    await Promise.all(
      layers.map(async (layer) => {
        if (await blobs.has(layer)) return;
        const res = await this.request(`${base}/v2/${repo}/blobs/${layer}`, repo, {}, signal);
        if (!res.ok || res.body === null) throw new Error(`layer ${layer}: ${await this.describe(res)}`);
        await blobs.put(layer, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), signal).catch((err: Error) => {
          throw new Error(`layer ${layer}: ${err.message}`);
        });
      }),
    );
    return { layers, config: parseImageConfig(configText), manifestDigest: digest };
  }

  /** `http(s)://host[:port]` of the registry serving `ref`. Loopback registries are plain HTTP, as in Docker. */
  baseUrl(ref: ImageReference): string {
    if (ref.registry === undefined) return this.options.defaultRegistry.origin;
    return `${isLoopbackRegistry(ref.registry) ? 'http' : 'https'}://${ref.registry}`;
  }

  private async getManifest(base: string, repo: string, reference: string, signal: AbortSignal) {
    const res = await this.request(`${base}/v2/${repo}/manifests/${reference}`, repo, { accept: MANIFEST_ACCEPT }, signal);
    if (!res.ok) throw new Error(`manifest ${repo}:${reference}: ${await this.describe(res)}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { text: Buffer.from(bytes).toString('utf8'), digest: digestOfBytes(bytes), contentType: res.headers.get('content-type') ?? undefined };
  }

  private async getBlobText(base: string, repo: string, digest: string, signal: AbortSignal): Promise<string> {
    const res = await this.request(`${base}/v2/${repo}/blobs/${digest}`, repo, {}, signal);
    if (!res.ok) throw new Error(`config blob ${digest}: ${await this.describe(res)}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const actual = digestOfBytes(bytes);
    if (actual !== digest) throw new Error(`config blob ${digest} arrived with digest ${actual}`);
    return Buffer.from(bytes).toString('utf8');
  }

  /** GET with the cached token; on 401 answers the challenge (Bearer or Basic) once and retries. */
  private async request(url: string, repo: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const host = new URL(url).host;
    const scope = `repository:${repo}:pull`;
    const key = `${host}|${scope}`;
    const cached = this.tokens.get(key);
    const first = await this.get(url, cached === undefined ? headers : { ...headers, authorization: cached }, signal);
    if (first.status !== 401) return first;
    const challenge = first.headers.get('www-authenticate') ?? '';
    await first.body?.cancel();
    const authorization = await this.answer(challenge, host, scope, signal);
    this.tokens.set(key, authorization);
    return this.get(url, { ...headers, authorization }, signal);
  }

  private async answer(challenge: string, host: string, scope: string, signal: AbortSignal): Promise<string> {
    const creds = this.options.credentials?.get(host);
    const basic = creds === undefined ? undefined : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const scheme = challenge.split(' ', 1)[0]!.toLowerCase();
    if (scheme === 'basic') {
      if (basic === undefined) throw new Error(`registry ${host} asks for a user and password; give them in --docker_config`);
      return basic;
    }
    if (scheme !== 'bearer') throw new Error(`registry ${host} answered 401 with an unsupported challenge '${challenge}'`);
    const params = parseChallenge(challenge.slice(challenge.indexOf(' ') + 1));
    const realm = params['realm'];
    if (realm === undefined) throw new Error(`registry ${host} sent a Bearer challenge without a realm`);
    const tokenUrl = new URL(realm);
    if (params['service'] !== undefined) tokenUrl.searchParams.set('service', params['service']);
    tokenUrl.searchParams.set('scope', params['scope'] ?? scope);
    const res = await this.get(tokenUrl.toString(), basic === undefined ? {} : { authorization: basic }, signal);
    if (!res.ok) throw new Error(`token service ${tokenUrl.origin} refused a token for ${scope}: ${await this.describe(res)}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (token === undefined) throw new Error(`token service ${tokenUrl.origin} answered without a token`);
    return `Bearer ${token}`;
  }

  private async get(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    try {
      return await this.fetchFn(url, { headers, signal, redirect: 'follow' });
    } catch (err) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('pull aborted');
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  }

  private async describe(res: Response): Promise<string> {
    let detail = '';
    try {
      const body = (await res.json()) as { errors?: Array<{ code?: string; message?: string }> };
      detail = (body.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
    } catch {
      // not JSON
    }
    const what = res.status === 404 ? 'not found' : res.status === 401 || res.status === 403 ? 'access denied' : `HTTP ${res.status}`;
    return detail === '' ? what : `${what} (${detail})`;
  }
}

/** `realm="https://auth",service="registry",scope="repository:x:pull"` to a record. */
export function parseChallenge(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+)="([^"]*)"|(\w+)=([^,\s]*)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[1] !== undefined) out[m[1]] = m[2]!;
    else if (m[3] !== undefined) out[m[3]] = m[4]!;
  }
  return out;
}
