/**
 * ContainerInfo and what it carries: images (facts 8.4), volumes and their sources (facts 8.3).
 * TaskInfo.container stays opaque on the master; the agent decodes it with these schemas.
 */
import { z } from 'zod';
import { bytes, int } from './decode.js';
import { Labels } from './common.js';

export const Secret = z.object({
  type: z.enum(['UNKNOWN', 'REFERENCE', 'VALUE']).optional(),
  reference: z.object({ name: z.string(), key: z.string().optional() }).optional(),
  value: z.object({ data: bytes }).optional(),
});
export type Secret = z.infer<typeof Secret>;

export const ImageType = z.enum(['APPC', 'DOCKER']);
export type ImageType = z.infer<typeof ImageType>;

export const Image = z.object({
  type: ImageType,
  appc: z.object({ name: z.string(), id: z.string().optional(), labels: Labels.optional() }).optional(),
  docker: z
    .object({
      /** `[REGISTRY_HOST[:PORT]/]REPOSITORY[:TAG|@DIGEST]`. */
      name: z.string(),
      /** Deprecated in Mesos; agora ignores it (use --docker_config). */
      credential: z.unknown().optional(),
      config: Secret.optional(),
    })
    .optional(),
  /** Default true: a cached image is used without asking the registry again. */
  cached: z.boolean().optional(),
});
export type Image = z.infer<typeof Image>;

export const VolumeMode = z.enum(['RW', 'RO']);
export type VolumeMode = z.infer<typeof VolumeMode>;

export const VolumeSourceType = z.enum(['UNKNOWN', 'DOCKER_VOLUME', 'SANDBOX_PATH', 'SECRET', 'HOST_PATH', 'CSI_VOLUME']);
export type VolumeSourceType = z.infer<typeof VolumeSourceType>;

export const MountPropagation = z.object({ mode: z.enum(['UNKNOWN', 'HOST_TO_CONTAINER', 'BIDIRECTIONAL']).optional() });

export const VolumeSource = z.object({
  type: VolumeSourceType.optional(),
  docker_volume: z
    .object({ driver: z.string().optional(), name: z.string(), driver_options: z.unknown().optional() })
    .optional(),
  host_path: z.object({ path: z.string(), mount_propagation: MountPropagation.optional() }).optional(),
  sandbox_path: z.object({ type: z.enum(['UNKNOWN', 'SELF', 'PARENT']).optional(), path: z.string() }).optional(),
  secret: Secret.optional(),
  csi_volume: z.unknown().optional(),
});
export type VolumeSource = z.infer<typeof VolumeSource>;

export const Volume = z.object({
  mode: VolumeMode.optional(),
  container_path: z.string(),
  /** Legacy: absolute is a HOST_PATH volume, relative a path in the sandbox. */
  host_path: z.string().optional(),
  image: Image.optional(),
  source: VolumeSource.optional(),
});
export type Volume = z.infer<typeof Volume>;

export const NetworkInfo = z.object({
  ip_addresses: z
    .array(z.object({ protocol: z.enum(['IPv4', 'IPv6']).optional(), ip_address: z.string().optional() }))
    .optional(),
  name: z.string().optional(),
  groups: z.array(z.string()).optional(),
  labels: Labels.optional(),
  port_mappings: z
    .array(z.object({ host_port: int, container_port: int, protocol: z.string().optional() }))
    .optional(),
});
export type NetworkInfo = z.infer<typeof NetworkInfo>;

export const ContainerInfo = z.object({
  type: z.enum(['DOCKER', 'MESOS']),
  volumes: z.array(Volume).optional(),
  hostname: z.string().optional(),
  /** The Docker containerizer's DockerInfo; agora has no Docker containerizer. */
  docker: z.unknown().optional(),
  mesos: z.object({ image: Image.optional() }).optional(),
  network_infos: z.array(NetworkInfo).optional(),
  linux_info: z.unknown().optional(),
  rlimit_info: z.unknown().optional(),
  tty_info: z.unknown().optional(),
});
export type ContainerInfo = z.infer<typeof ContainerInfo>;
