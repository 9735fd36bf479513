/**
 * Container images: the store (blobs, unpacked layers), the registries it pulls from (a
 * directory of tarballs or Registry HTTP API v2), the provisioner of root filesystems, and
 * Mesos's docker/runtime rules for entrypoint, cmd, env, working dir and user.
 */
import { AgoraError } from '../../base/index.js';
import type { Registry } from './manifest.js';
import { HttpRegistry, loadDockerConfig } from './registry-http.js';
import { LocalRegistry } from './registry-local.js';

export { BlobStore, DigestMismatchError } from './blobs.js';
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
