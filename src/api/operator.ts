/**
 * The master's v1 Operator API (`POST /api/v1` on the master, facts 3.1): Mesos's `master.Call`,
 * and the quota and weight messages the legacy `/quota` and `/weights` endpoints share with it.
 */
import { z } from 'zod';
import { Id, Scalar } from './common.js';
import { double } from './decode.js';
import { Resource } from './resource.js';

export const MASTER_CALL_TYPES = [
  'UNKNOWN',
  'GET_HEALTH',
  'GET_FLAGS',
  'GET_VERSION',
  'GET_METRICS',
  'GET_LOGGING_LEVEL',
  'SET_LOGGING_LEVEL',
  'LIST_FILES',
  'READ_FILE',
  'GET_STATE',
  'GET_AGENTS',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_ROLES',
  'GET_WEIGHTS',
  'UPDATE_WEIGHTS',
  'GET_MASTER',
  'SUBSCRIBE',
  'RESERVE_RESOURCES',
  'UNRESERVE_RESOURCES',
  'CREATE_VOLUMES',
  'DESTROY_VOLUMES',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'GET_MAINTENANCE_STATUS',
  'GET_MAINTENANCE_SCHEDULE',
  'UPDATE_MAINTENANCE_SCHEDULE',
  'START_MAINTENANCE',
  'STOP_MAINTENANCE',
  'DRAIN_AGENT',
  'DEACTIVATE_AGENT',
  'REACTIVATE_AGENT',
  'GET_QUOTA',
  'UPDATE_QUOTA',
  'SET_QUOTA',
  'REMOVE_QUOTA',
  'TEARDOWN',
  'MARK_AGENT_GONE',
] as const;
export type MasterCallType = (typeof MASTER_CALL_TYPES)[number];

/** `WeightInfo`: a role's weight (> 0; 1 is the default). */
export const WeightInfo = z.object({ weight: double, role: z.string() });
export type WeightInfo = z.infer<typeof WeightInfo>;

/** `QuotaConfig` (1.9+): guarantees and limits by resource name; both empty resets the role to no quota. */
export const QuotaConfig = z.object({
  role: z.string(),
  guarantees: z.record(z.string(), Scalar).optional(),
  limits: z.record(z.string(), Scalar).optional(),
});
export type QuotaConfig = z.infer<typeof QuotaConfig>;

/** The deprecated `QuotaRequest` of SET_QUOTA and `POST /quota`: a guarantee that is also the limit. */
export const QuotaRequest = z.object({
  force: z.boolean().optional(),
  role: z.string(),
  guarantee: z.array(Resource).optional(),
});
export type QuotaRequest = z.infer<typeof QuotaRequest>;

/**
 * `master.Call`. `type` stays a string so that a type agora does not answer is a 501 naming
 * it, not a decoding error; the payloads of calls agora does not implement are not read.
 */
export const MasterCall = z.object({
  type: z.string(),
  update_weights: z.object({ weight_infos: z.array(WeightInfo).optional() }).optional(),
  update_quota: z.object({ force: z.boolean().optional(), quota_configs: z.array(QuotaConfig).optional() }).optional(),
  set_quota: z.object({ quota_request: QuotaRequest }).optional(),
  remove_quota: z.object({ role: z.string() }).optional(),
  reserve_resources: z
    .object({ agent_id: Id, source: z.array(Resource).optional(), resources: z.array(Resource).optional() })
    .optional(),
  unreserve_resources: z.object({ agent_id: Id, resources: z.array(Resource).optional() }).optional(),
  teardown: z.object({ framework_id: Id }).optional(),
  mark_agent_gone: z.object({ agent_id: Id }).optional(),
});
export type MasterCall = z.infer<typeof MasterCall>;
