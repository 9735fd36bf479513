/**
 * Mesos's local registry: a directory of image tarballs named `<repository>:<tag>.tar` or
 * `<repository>.tar`, each a `docker save` archive or an OCI image layout archive. Air-gapped.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tar from 'tar';
import { assertDigest, type BlobStore, digestOfBytes } from './blobs.js';
import { parseImageConfig, parseManifest, pickPlatform, type PulledImage, type Registry } from './manifest.js';
import type { ImageReference } from './reference.js';
import { entryPath } from './unpack.js';

export class LocalRegistry implements Registry {
  readonly description: string;

  constructor(readonly dir: string) {
    this.description = resolve(dir);
  }

  /** The tarball names tried for `ref`, in order (Mesos names them without `library/`). */
  static candidates(ref: ImageReference): string[] {
    const short = ref.repository.replace(/^library\//, '');
    const names = [...new Set([short, ref.repository])];
    const out: string[] = [];
    for (const name of names) {
      if (ref.tag !== undefined) out.push(`${name}:${ref.tag}.tar`);
      out.push(`${name}.tar`);
    }
    return out;
  }

  where(): string {
    return `the local registry ${this.description}`;
  }

  async pull(ref: ImageReference, blobs: BlobStore, signal: AbortSignal): Promise<PulledImage> {
    if (ref.digest !== undefined) {
      throw new Error(`the local registry ${this.dir} finds images by tag; name the image by tag, not by digest`);
    }
    const archive = await this.find(ref);
    // Unpacked beside the blobs, so that layer files are moved into the store, not copied.
    const staging = join(blobs.dir, 'tmp', `archive-${randomUUID()}`);
    await mkdir(staging, { recursive: true });
    try {
      await tar.x({ file: archive, cwd: staging, preserveOwner: false, strict: true });
      signal.throwIfAborted();
      const hasDockerManifest = await exists(join(staging, 'manifest.json'));
      const hasOciIndex = await exists(join(staging, 'index.json'));
      if (hasOciIndex && (await exists(join(staging, 'oci-layout')))) return await this.fromOciLayout(staging, ref, blobs, signal);
      if (hasDockerManifest) return await this.fromDockerSave(staging, ref, blobs, signal);
      throw new Error(`${archive} is neither a 'docker save' archive (manifest.json) nor an OCI image layout (oci-layout, index.json)`);
    } catch (err) {
      throw new Error(`${archive}: ${(err as Error).message}`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async find(ref: ImageReference): Promise<string> {
    const tried = LocalRegistry.candidates(ref);
    for (const name of tried) {
      const path = join(this.dir, name);
      if (await exists(path)) return path;
    }
    throw new Error(
      `no such image (looked for ${tried.join(', ')})`,
    );
  }

  private async fromDockerSave(dir: string, ref: ImageReference, blobs: BlobStore, signal: AbortSignal): Promise<PulledImage> {
    const entries = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Array<{
      Config: string;
      RepoTags?: string[] | null;
      Layers: string[];
    }>;
    const short = ref.repository.replace(/^library\//, '');
    const wanted = new Set([`${short}:${ref.tag}`, `${ref.repository}:${ref.tag}`, `${ref.registry ?? ''}/${ref.repository}:${ref.tag}`]);
    const entry =
      entries.find((e) => (e.RepoTags ?? []).some((t) => wanted.has(t) || t.endsWith(`/${short}:${ref.tag}`))) ??
      (entries.length === 1 ? entries[0] : undefined);
    if (entry === undefined) {
      const tags = entries.flatMap((e) => e.RepoTags ?? []).join(', ');
      throw new Error(`no image tagged ${short}:${ref.tag} in it (it has: ${tags || 'untagged images'})`);
    }
    const config = parseImageConfig(await readFile(this.member(dir, entry.Config), 'utf8'));
    const layers: string[] = [];
    for (const layer of entry.Layers) {
      signal.throwIfAborted();
      // Newer `docker save` names layers blobs/sha256/<hex>: then the name is also checked.
      const named = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(layer);
      const path = this.member(dir, layer);
      const digest = named === null ? undefined : `sha256:${named[1]}`;
      if (digest !== undefined && (await blobs.has(digest))) layers.push(digest);
      else layers.push(await blobs.adopt(path, digest));
    }
    return { layers, config };
  }

  private async fromOciLayout(dir: string, ref: ImageReference, blobs: BlobStore, signal: AbortSignal): Promise<PulledImage> {
    const index = parseManifest(await readFile(join(dir, 'index.json'), 'utf8'));
    if (index.kind !== 'index') throw new Error('index.json is not an image index');
    const short = ref.repository.replace(/^library\//, '');
    const refName = (m: { annotations?: Record<string, string> }): string | undefined => m.annotations?.['org.opencontainers.image.ref.name'];
    let chosen =
      index.manifests.find((m) => [ref.tag, `${short}:${ref.tag}`, `${ref.repository}:${ref.tag}`].includes(refName(m))) ??
      (index.manifests.length === 1 ? index.manifests[0] : undefined);
    if (chosen === undefined) {
      const names = index.manifests.map(refName).filter((n) => n !== undefined).join(', ');
      throw new Error(`no image named ${ref.tag} in index.json (it has: ${names || 'unnamed images'})`);
    }
    let manifest = parseManifest(await this.blobText(dir, chosen.digest));
    if (manifest.kind === 'index') {
      chosen = pickPlatform(manifest.manifests);
      manifest = parseManifest(await this.blobText(dir, chosen.digest));
      if (manifest.kind !== 'image') throw new Error('an index points at another index; agora reads one level');
    }
    const config = parseImageConfig(await this.blobText(dir, manifest.config.digest));
    const layers: string[] = [];
    for (const layer of manifest.layers) {
      signal.throwIfAborted();
      if (!(await blobs.has(layer.digest))) await blobs.adopt(this.blobPath(dir, layer.digest), layer.digest);
      layers.push(layer.digest);
    }
    return { layers, config, manifestDigest: chosen.digest };
  }

  private blobPath(dir: string, digest: string): string {
    return join(dir, 'blobs', 'sha256', assertDigest(digest, 'OCI layout blob'));
  }

  private async blobText(dir: string, digest: string): Promise<string> {
    const bytes = await readFile(this.blobPath(dir, digest));
    const actual = digestOfBytes(bytes);
    if (actual !== digest) throw new Error(`blob ${digest} has digest ${actual}`);
    return bytes.toString('utf8');
  }

  /** A path named inside the archive, kept inside it. */
  private member(dir: string, name: string): string {
    const rel = entryPath(name);
    if (rel === undefined || rel === '') throw new Error(`manifest.json names '${name}', which is outside the archive`);
    return join(dir, rel);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
