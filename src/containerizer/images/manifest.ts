/**
 * Image manifests and configs as registries and archives hold them: Docker v2 schema 2, OCI
 * image manifests, manifest lists and OCI indexes. Pure parsing; no I/O.
 */
import type { ImageRuntimeConfig } from './runtime-config.js';
import type { ImageReference } from './reference.js';
import type { BlobStore } from './blobs.js';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/** What a registry hands the store: the image's layers (bottom first, already stored) and config. */
export interface PulledImage {
  /** Digests of the layer blobs, bottom layer first; every one is in the BlobStore. */
  layers: string[];
  config: ImageRuntimeConfig;
  /** The manifest's digest, when the source has one. */
  manifestDigest?: string;
}

/** A source of images: a directory of tarballs or a Registry HTTP API v2 endpoint. */
export interface Registry {
  /** For messages: where `ref` is looked for (the directory, or the registry's URL). */
  where(ref: ImageReference): string;
  /**
   * Finds `ref`, stores its missing layer blobs in `blobs` (verified), and returns the image.
   * Rejects with an Error whose message says why (unknown image, bad digest, unreachable).
   * Stops when `signal` aborts.
   */
  pull(ref: ImageReference, blobs: BlobStore, signal: AbortSignal): Promise<PulledImage>;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'image'; config: Descriptor; layers: Descriptor[] };

/** Parses a manifest, list or index; throws with what is wrong (schema 1, missing fields). */
export function parseManifest(text: string, contentType?: string): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error('the manifest is not JSON');
  }
  const mediaType = (typeof json['mediaType'] === 'string' ? json['mediaType'] : undefined) ?? contentType?.split(';')[0]?.trim();
  if (json['schemaVersion'] === 1 || mediaType === MEDIA.dockerSchema1 || mediaType === MEDIA.dockerSchema1Signed) {
    throw new Error('the registry serves only a Docker manifest schema 1, which agora does not read; push the image again with a current client (schema 2 or OCI)');
  }
  if (Array.isArray(json['manifests'])) {
    return { kind: 'index', manifests: (json['manifests'] as unknown[]).map((d, i) => descriptor(d, `manifests[${i}]`)) };
  }
  if (json['config'] !== undefined && Array.isArray(json['layers'])) {
    return {
      kind: 'image',
      config: descriptor(json['config'], 'config'),
      layers: (json['layers'] as unknown[]).map((d, i) => descriptor(d, `layers[${i}]`)),
    };
  }
  throw new Error(`the manifest (media type ${mediaType ?? 'unknown'}) has neither layers nor manifests`);
}

function descriptor(value: unknown, field: string): Descriptor {
  const d = value as Descriptor | undefined;
  if (typeof d !== 'object' || d === null || typeof d.digest !== 'string') throw new Error(`the manifest's ${field} has no digest`);
  return d;
}

/** Docker's name for this machine's architecture (`amd64`, `arm64`, ...). */
export function dockerArchitecture(arch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

/** The entry of an index for linux on this machine's architecture, else an error listing what there is. */
export function pickPlatform(manifests: Descriptor[], architecture: string = dockerArchitecture()): Descriptor {
  const found = manifests.find((m) => (m.platform?.os ?? 'linux') === 'linux' && m.platform?.architecture === architecture);
  if (found !== undefined) return found;
  // Indexes written by `skopeo`/`umoci` for one image often carry no platform at all.
  const unlabeled = manifests.filter((m) => m.platform === undefined);
  if (unlabeled.length === 1) return unlabeled[0]!;
  const have = manifests.map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`).join(', ');
  throw new Error(`the image has no linux/${architecture} variant (it has: ${have || 'none'})`);
}

/** The runtime config (`config` member) of an image config blob. */
export function parseImageConfig(text: string): ImageRuntimeConfig {
  let json: { config?: ImageRuntimeConfig | null };
  try {
    json = JSON.parse(text) as { config?: ImageRuntimeConfig | null };
  } catch {
    throw new Error('the image config is not JSON');
  }
  const c = json.config ?? {};
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined);
  const out: ImageRuntimeConfig = {};
  const entrypoint = strings(c.Entrypoint);
  const cmd = strings(c.Cmd);
  const env = strings(c.Env);
  if (entrypoint !== undefined) out.Entrypoint = entrypoint;
  if (cmd !== undefined) out.Cmd = cmd;
  if (env !== undefined) out.Env = env;
  if (typeof c.WorkingDir === 'string') out.WorkingDir = c.WorkingDir;
  if (typeof c.User === 'string') out.User = c.User;
  return out;
}
