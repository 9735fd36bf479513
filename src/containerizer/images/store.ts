/**
 * The Docker image store (`--docker_store_dir`): verified blobs by digest, each layer unpacked
 * once and shared by every image that has it, and the images pulled so far. Pulls of one image
 * at once are merged into one; each pull has its own timeout (`--docker_pull_timeout`).
 *
 *   <store>/blobs/sha256/<hex>                    layer blobs, as fetched (verified)
 *   <store>/layers/sha256/<hex>/rootfs            a layer unpacked (keyed by its blob's digest)
 *   <store>/layers/sha256/<hex>/whiteouts.json    what the layer deletes below it
 *   <store>/images/<sha256 of name>.json          a pulled image: name, layers, runtime config
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { writeFileAtomically } from '../../io/atomic-file.js';
import { join } from 'node:path';
import { assertDigest, BlobStore, digestOfBytes } from './blobs.js';
import type { Registry } from './manifest.js';
import { formatImageReference, type ImageReference, parseImageReference } from './reference.js';
import type { ImageRuntimeConfig } from './runtime-config.js';
import { unpackLayer, type Whiteouts } from './unpack.js';

/** A Mesos default: `--docker_pull_timeout`'s value when the flag is not given. */
export const DEFAULT_PULL_TIMEOUT_MS = 5 * 60_000;

export interface StoredLayer {
  digest: string;
  /** The unpacked layer; never written to after unpacking. */
  rootfs: string;
  whiteouts: Whiteouts;
}

export interface StoredImage {
  /** The canonical name, e.g. `127.0.0.1:5000/library/busybox:latest`. */
  reference: string;
  /** Bottom layer first. */
  layers: StoredLayer[];
  config: ImageRuntimeConfig;
  manifestDigest?: string;
}

/** An image could not be had; the message names the image and says why. */
export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
}

interface ImageRecord {
  reference: string;
  layers: string[];
  config: ImageRuntimeConfig;
  manifestDigest?: string;
}

export interface ImageStoreOptions {
  dir: string;
  registry: Registry;
  pullTimeoutMs?: number;
}

export class ImageStore {
  readonly blobs: BlobStore;
  private readonly pullTimeoutMs: number;
  /** Pulls under way, by canonical name: later callers wait for the same one. */
  private readonly pulls = new Map<string, Promise<StoredImage>>();
  /** Layer unpacks under way, by digest (two images may share a layer). */
  private readonly unpacks = new Map<string, Promise<StoredLayer>>();
  /** Counts, for tests and metrics. */
  readonly stats = { pulls: 0, layersUnpacked: 0 };

  constructor(private readonly options: ImageStoreOptions) {
    this.blobs = new BlobStore(join(options.dir, 'blobs'));
    this.pullTimeoutMs = options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
  }

  get dir(): string {
    return this.options.dir;
  }

  /**
   * The image named `name`, with every layer unpacked. A cached image is used as is unless
   * `cached` is false (Mesos's Image.cached), which asks the registry again. Rejects with
   * ImagePullError naming the image and the reason.
   */
  async get(name: string, options: { cached?: boolean } = {}): Promise<StoredImage> {
    let ref: ImageReference;
    try {
      ref = parseImageReference(name);
    } catch (err) {
      throw new ImagePullError(`Failed to pull image '${name}': ${(err as Error).message}`);
    }
    const key = formatImageReference(ref);
    const running = this.pulls.get(key);
    if (running !== undefined) return running;
    const pull = this.load(name, ref, key, options.cached ?? true);
    this.pulls.set(key, pull);
    try {
      return await pull;
    } finally {
      this.pulls.delete(key);
    }
  }

  private async load(name: string, ref: ImageReference, key: string, cached: boolean): Promise<StoredImage> {
    const recordPath = join(this.options.dir, 'images', `${digestOfBytes(key).slice('sha256:'.length)}.json`);
    if (cached) {
      const record = await readRecord(recordPath);
      if (record !== undefined) {
        try {
          return await this.withLayers(record, new AbortController().signal);
        } catch {
          // A layer blob went missing: pull again.
        }
      }
    }
    const signal = AbortSignal.timeout(this.pullTimeoutMs);
    try {
      this.stats.pulls++;
      const pulled = await this.options.registry.pull(ref, this.blobs, signal);
      const record: ImageRecord = {
        reference: key,
        layers: pulled.layers,
        config: pulled.config,
        ...(pulled.manifestDigest === undefined ? {} : { manifestDigest: pulled.manifestDigest }),
      };
      const image = await this.withLayers(record, signal);
      await writeFileAtomically(recordPath, JSON.stringify(record));
      return image;
    } catch (err) {
      const why = signal.aborted
        ? `the pull did not finish within ${Math.round(this.pullTimeoutMs / 1000)} s (--docker_pull_timeout)`
        : (err as Error).message;
      throw new ImagePullError(`Failed to pull image '${name}' from ${this.options.registry.where(ref)}: ${why}`);
    }
  }

  private async withLayers(record: ImageRecord, signal: AbortSignal): Promise<StoredImage> {
    const layers: StoredLayer[] = [];
    for (const digest of record.layers) {
      signal.throwIfAborted();
      layers.push(await this.layer(digest));
    }
    return {
      reference: record.reference,
      layers,
      config: record.config,
      ...(record.manifestDigest === undefined ? {} : { manifestDigest: record.manifestDigest }),
    };
  }

  /** The unpacked layer of blob `digest`, unpacking it first if no image has needed it yet. */
  private layer(digest: string): Promise<StoredLayer> {
    const running = this.unpacks.get(digest);
    if (running !== undefined) return running;
    const work = this.unpack(digest).finally(() => this.unpacks.delete(digest));
    this.unpacks.set(digest, work);
    return work;
  }

  private async unpack(digest: string): Promise<StoredLayer> {
    const dir = join(this.options.dir, 'layers', 'sha256', assertDigest(digest, 'layer'));
    const rootfs = join(dir, 'rootfs');
    const whiteoutsPath = join(dir, 'whiteouts.json');
    const done = await readFile(whiteoutsPath, 'utf8').then(
      (text) => JSON.parse(text) as Whiteouts,
      () => undefined,
    );
    if (done !== undefined) return { digest, rootfs, whiteouts: done };
    const blob = this.blobs.path(digest);
    if (!(await stat(blob).then(() => true, () => false))) throw new Error(`layer ${digest} is not in the store`);
    // Unpacked aside and renamed into place: a layer directory is complete or absent.
    const staging = join(this.options.dir, 'layers', 'tmp', randomUUID());
    try {
      let whiteouts: Whiteouts;
      try {
        whiteouts = await unpackLayer(blob, join(staging, 'rootfs'));
      } catch (err) {
        throw new Error(`layer ${digest}: ${(err as Error).message}`);
      }
      await writeFile(join(staging, 'whiteouts.json'), JSON.stringify(whiteouts));
      await mkdir(join(this.options.dir, 'layers', 'sha256'), { recursive: true });
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
      this.stats.layersUnpacked++;
      return { digest, rootfs, whiteouts };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

async function readRecord(path: string): Promise<ImageRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as ImageRecord;
    return Array.isArray(record.layers) ? record : undefined;
  } catch {
    return undefined;
  }
}

