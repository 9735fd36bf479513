/**
 * Container images: the store (blobs, unpacked layers), the registries it pulls from (a
 * directory of tarballs or Registry HTTP API v2), the provisioner of root filesystems, and
 * Mesos's docker/runtime rules for entrypoint, cmd, env, working dir and user.
 */
import { join } from 'node:path';
import { AgoraError } from '../../base/index.js';
import type { Isolator } from '../isolator.js';
import { VolumeIsolator } from '../volumes.js';
import { ImageIsolator } from './isolator.js';
import type { Registry } from './manifest.js';
import { Provisioner, type ProvisionerBackend } from './provisioner.js';
import { HttpRegistry, loadDockerConfig } from './registry-http.js';
import { LocalRegistry } from './registry-local.js';
import { ImageStore } from './store.js';

export { BlobStore, DigestMismatchError } from './blobs.js';
export { decodeContainerInfo, ImageIsolator, type ImageIsolatorOptions } from './isolator.js';
export type { PulledImage, Registry } from './manifest.js';
export { Provisioner, type ProvisionedRootfs, type ProvisionerBackend, type ProvisionerOptions } from './provisioner.js';
export { formatImageReference, type ImageReference, parseImageReference } from './reference.js';
export { HttpRegistry, loadDockerConfig } from './registry-http.js';
export { LocalRegistry } from './registry-local.js';
export {
  type ImageLaunchPlan,
  type ImageRuntimeConfig,
  planImageLaunch,
  resolveImageUser,
  type TaskCommand,
} from './runtime-config.js';
export { DEFAULT_PULL_TIMEOUT_MS, ImagePullError, ImageStore, type StoredImage } from './store.js';

/** Mesos's default `--docker_registry`. */
export const DEFAULT_DOCKER_REGISTRY = 'https://registry-1.docker.io';

/**
 * `--docker_registry` to a Registry: an `http(s)://` URL is a Registry HTTP API v2 endpoint
 * (the default for names without a registry host), anything else a directory of tarballs.
 * `--docker_config` (a path or JSON text) gives credentials for HTTP registries.
 */
export function registryFromFlags(dockerRegistry: string = DEFAULT_DOCKER_REGISTRY, dockerConfig?: string): Registry {
  if (/^https?:\/\//.test(dockerRegistry)) {
    let url: URL;
    try {
      url = new URL(dockerRegistry);
    } catch {
      throw new AgoraError('AGORA_ERR_VALIDATION', `--docker_registry: '${dockerRegistry}' is not a URL; write e.g. https://registry-1.docker.io`);
    }
    let credentials;
    if (dockerConfig !== undefined) {
      try {
        credentials = loadDockerConfig(dockerConfig);
      } catch (err) {
        throw new AgoraError('AGORA_ERR_VALIDATION', `--docker_config: cannot read '${dockerConfig}': ${(err as Error).message}`);
      }
    }
    return new HttpRegistry({ defaultRegistry: url, ...(credentials === undefined ? {} : { credentials }) });
  }
  return new LocalRegistry(dockerRegistry.replace(/^file:\/\//, ''));
}

/** The agent's image and volume flags (Mesos's names), all optional. */
export interface ImageOptions {
  /** `--docker_registry`: a URL or a directory of tarballs; default Docker Hub. */
  dockerRegistry?: string;
  /** `--docker_store_dir`; default `<work_dir>/store/docker`. */
  dockerStoreDir?: string;
  /** `--docker_config`: a Docker config.json path or its JSON text, for registry credentials. */
  dockerConfig?: string;
  /** `--docker_pull_timeout`; default DEFAULT_PULL_TIMEOUT_MS. */
  pullTimeoutMs?: number;
  /** `--image_provisioner_backend`; default overlay where it works, else copy. */
  provisionerBackend?: ProvisionerBackend;
}

/**
 * The isolators for images and volumes, in Mesos's order (the rootfs first, volumes after, so
 * volumes know whether there is one). `isolates` is the launcher's: without it (posix) image
 * tasks fail with the fix, and only sandbox volumes work (as symlinks).
 * Throws AGORA_ERR_VALIDATION naming the flag when a flag is wrong.
 */
export function imageIsolators(options: ImageOptions & { workDir: string; isolates: boolean; canSwitchUser: boolean }): Isolator[] {
  const registry = registryFromFlags(options.dockerRegistry, options.dockerConfig);
  if (options.pullTimeoutMs !== undefined && !(options.pullTimeoutMs > 0)) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--docker_pull_timeout must be positive, got ${options.pullTimeoutMs} ms`);
  }
  const store = new ImageStore({
    dir: options.dockerStoreDir ?? defaultDockerStoreDir(options.workDir),
    registry,
    ...(options.pullTimeoutMs === undefined ? {} : { pullTimeoutMs: options.pullTimeoutMs }),
  });
  const provisioner = new Provisioner({
    store,
    dir: join(options.workDir, 'provisioner'),
    ...(options.provisionerBackend === undefined ? {} : { backend: options.provisionerBackend }),
  });
  return [
    new ImageIsolator({ provisioner, isolates: options.isolates, canSwitchUser: options.canSwitchUser }),
    new VolumeIsolator({ isolates: options.isolates }),
  ];
}

/**
 * agora keeps the store under the agent's work dir (Mesos: /tmp/mesos/store/docker), so that
 * agents sharing a machine (`agora local`) never share one and a work dir holds all its state.
 */
export function defaultDockerStoreDir(workDir: string): string {
  return join(workDir, 'store', 'docker');
}
