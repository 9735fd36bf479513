/**
 * The provisioner: a container's root filesystem from an image in the store, made by a backend
 * (overlay when the agent is root and the kernel has it, else copy), and removed by release().
 *
 *   <provisioner dir>/containers/<containerId>/backends/<backend>/rootfses/<uuid>
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ImageRuntimeConfig } from './runtime-config.js';
import type { ImageStore, StoredImage } from './store.js';
import { applyLayer } from './unpack.js';

const exec = promisify(execFile);

export type ProvisionerBackend = 'copy' | 'overlay';

export interface ProvisionedRootfs {
  /** The container's root filesystem, writable, private to it. */
  rootfs: string;
  /** The image's runtime config (Entrypoint, Cmd, Env, WorkingDir, User). */
  config: ImageRuntimeConfig;
  /** The image's canonical name. */
  reference: string;
  backend: ProvisionerBackend;
  /**
   * Unmounts and deletes the rootfs. The containerizer calls it once the container's processes
   * are gone (after the launcher's wait() resolved); calling it again is harmless.
   */
  release(): Promise<void>;
}

export interface ProvisionerOptions {
  store: ImageStore;
  /** `<work_dir>/provisioner`. */
  dir: string;
  /** Mesos's `--image_provisioner_backend`; absent picks overlay where it works, else copy. */
  backend?: ProvisionerBackend;
}

export class Provisioner {
  private overlayUsable: Promise<boolean> | undefined;

  constructor(private readonly options: ProvisionerOptions) {}

  get store(): ImageStore {
    return this.options.store;
  }

  /** Pulls (or finds) `image` and builds a rootfs for `containerId`. Rejects with ImagePullError or Error. */
  async provision(containerId: string, image: { name: string; cached?: boolean }): Promise<ProvisionedRootfs> {
    const stored = await this.options.store.get(image.name, image.cached === undefined ? {} : { cached: image.cached });
    let backend = await this.pickBackend(stored);
    const base = join(this.options.dir, 'containers', containerId);
    const rootfs = join(base, 'backends', backend, 'rootfses', randomUUID());
    let mounted = false;
    const release = async (): Promise<void> => {
      if (mounted) {
        await exec('umount', ['-l', rootfs]).catch(() => undefined);
        mounted = false;
      }
      await rm(base, { recursive: true, force: true });
    };
    try {
      await mkdir(rootfs, { recursive: true, mode: 0o755 });
      if (backend === 'overlay') {
        const scratch = join(base, 'backends', backend, 'scratch', rootfs.slice(rootfs.lastIndexOf('/') + 1));
        await mkdir(join(scratch, 'upper'), { recursive: true });
        await mkdir(join(scratch, 'work'), { recursive: true });
        // overlayfs lists lower directories top first.
        const lower = stored.layers.map((l) => l.rootfs).reverse().join(':');
        const options = `lowerdir=${lower},upperdir=${join(scratch, 'upper')},workdir=${join(scratch, 'work')}`;
        try {
          await exec('mount', ['-t', 'overlay', 'overlay', '-o', options, rootfs]);
          mounted = true;
        } catch {
          // E.g. a work dir on a filesystem overlay cannot use as upper: copy, now and from now on.
          this.overlayUsable = Promise.resolve(false);
          backend = 'copy';
          for (const layer of stored.layers) await applyLayer(layer.rootfs, layer.whiteouts, rootfs);
        }
      } else {
        for (const layer of stored.layers) await applyLayer(layer.rootfs, layer.whiteouts, rootfs);
      }
    } catch (err) {
      await release();
      throw new Error(`Failed to provision a root filesystem from image '${image.name}' (${backend} backend): ${(err as Error).message}`);
    }
    return { rootfs, config: stored.config, reference: stored.reference, backend, release };
  }

  /**
   * Overlay needs root, the kernel's overlay filesystem, and layers without whiteouts (overlay
   * spells them as character devices and xattrs, which Node cannot write); else copy.
   */
  private async pickBackend(image: StoredImage): Promise<ProvisionerBackend> {
    if (this.options.backend === 'copy') return 'copy';
    const hasWhiteouts = image.layers.some((l) => l.whiteouts.deleted.length > 0 || l.whiteouts.opaque.length > 0);
    if (hasWhiteouts || image.layers.length === 0) return 'copy';
    this.overlayUsable ??= overlaySupported();
    return (await this.overlayUsable) ? 'overlay' : 'copy';
  }
}

async function overlaySupported(): Promise<boolean> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  return /\toverlay$/m.test(filesystems);
}
