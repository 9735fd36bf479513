/** FrameworkInfo and MasterInfo / AgentInfo (facts 1.4, 7.3). */
import { z } from 'zod';
import { double, int } from './decode.js';
import { Address, Attribute, Id, Labels } from './common.js';
import { Resource } from './resource.js';

export const FRAMEWORK_CAPABILITIES = [
  'UNKNOWN',
  'REVOCABLE_RESOURCES',
  'TASK_KILLING_STATE',
  'GPU_RESOURCES',
  'SHARED_RESOURCES',
  'PARTITION_AWARE',
  'MULTI_ROLE',
  'RESERVATION_REFINEMENT',
  'REGION_AWARE',
] as const;
export const FrameworkCapabilityType = z.enum(FRAMEWORK_CAPABILITIES);
export type FrameworkCapabilityType = z.infer<typeof FrameworkCapabilityType>;

export const FrameworkInfo = z.object({
  user: z.string(),
  name: z.string(),
  id: Id.optional(),
  failover_timeout: double.optional(),
  checkpoint: z.boolean().optional(),
  role: z.string().optional(),
  roles: z.array(z.string()).optional(),
  hostname: z.string().optional(),
  principal: z.string().optional(),
  webui_url: z.string().optional(),
  capabilities: z.array(z.object({ type: FrameworkCapabilityType.optional() })).optional(),
  labels: Labels.optional(),
  offer_filters: z.record(z.string(), z.unknown()).optional(),
});
export type FrameworkInfo = z.infer<typeof FrameworkInfo>;

export function hasCapability(info: FrameworkInfo, type: FrameworkCapabilityType): boolean {
  return info.capabilities?.some((c) => c.type === type) ?? false;
}

export const MasterInfo = z.object({
  id: z.string(),
  ip: int,
  port: int,
  pid: z.string().optional(),
  hostname: z.string().optional(),
  version: z.string().optional(),
  address: Address.optional(),
  capabilities: z.array(z.object({ type: z.string() })).optional(),
});
export type MasterInfo = z.infer<typeof MasterInfo>;

export const AgentInfo = z.object({
  hostname: z.string(),
  port: int.optional(),
  resources: z.array(Resource).optional(),
  attributes: z.array(Attribute).optional(),
  id: Id.optional(),
  domain: z.unknown().optional(),
});
export type AgentInfo = z.infer<typeof AgentInfo>;
