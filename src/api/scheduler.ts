/**
 * The v1 Scheduler API (facts section 1): `scheduler.Call` as it arrives, decoded leniently,
 * and `scheduler.Event` as agora sends it. Semantics live in master/core; this is shape only.
 */
import { z } from 'zod';
import { bytes } from './decode.js';
import { Attribute, Filters, Id, URL } from './common.js';
import { FrameworkInfo, MasterInfo } from './framework.js';
import { Resource } from './resource.js';
import { ExecutorInfo, KillPolicy, TaskInfo, TaskStatus } from './task.js';

export const SCHEDULER_CALL_TYPES = [
  'UNKNOWN',
  'SUBSCRIBE',
  'TEARDOWN',
  'ACCEPT',
  'DECLINE',
  'ACCEPT_INVERSE_OFFERS',
  'DECLINE_INVERSE_OFFERS',
  'REVIVE',
  'KILL',
  'SHUTDOWN',
  'ACKNOWLEDGE',
  'ACKNOWLEDGE_OPERATION_STATUS',
  'RECONCILE',
  'RECONCILE_OPERATIONS',
  'MESSAGE',
  'REQUEST',
  'SUPPRESS',
  'UPDATE_FRAMEWORK',
] as const;
export type SchedulerCallType = (typeof SCHEDULER_CALL_TYPES)[number];

export const OPERATION_TYPES = [
  'UNKNOWN',
  'LAUNCH',
  'LAUNCH_GROUP',
  'RESERVE',
  'UNRESERVE',
  'CREATE',
  'DESTROY',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'CREATE_DISK',
  'DESTROY_DISK',
] as const;

export const OfferOperation = z.object({
  type: z.enum(OPERATION_TYPES),
  id: Id.optional(),
  launch: z.object({ task_infos: z.array(TaskInfo).optional() }).optional(),
  launch_group: z
    .object({ executor: ExecutorInfo, task_group: z.object({ tasks: z.array(TaskInfo).optional() }) })
    .optional(),
  reserve: z.object({ source: z.array(Resource).optional(), resources: z.array(Resource).optional() }).optional(),
  unreserve: z.object({ resources: z.array(Resource).optional() }).optional(),
  create: z.object({ volumes: z.array(Resource).optional() }).optional(),
  destroy: z.object({ volumes: z.array(Resource).optional() }).optional(),
});
export type OfferOperation = z.infer<typeof OfferOperation>;

const Subscribe = z.object({
  framework_info: FrameworkInfo,
  suppressed_roles: z.array(z.string()).optional(),
  offer_constraints: z.unknown().optional(),
});
const Accept = z.object({
  offer_ids: z.array(Id).optional(),
  operations: z.array(OfferOperation).optional(),
  filters: Filters.optional(),
});
const Decline = z.object({ offer_ids: z.array(Id).optional(), filters: Filters.optional() });
const Roles = z.object({ roles: z.array(z.string()).optional() });
const Kill = z.object({ task_id: Id, agent_id: Id.optional(), kill_policy: KillPolicy.optional() });
const Shutdown = z.object({ executor_id: Id, agent_id: Id });
const Acknowledge = z.object({ agent_id: Id, task_id: Id, uuid: bytes });
const Reconcile = z.object({
  tasks: z.array(z.object({ task_id: Id, agent_id: Id.optional() })).optional(),
});
const Message = z.object({ agent_id: Id, executor_id: Id, data: bytes });
const Request = z.object({ requests: z.array(z.unknown()).optional() });
const InverseOffers = z.object({ inverse_offer_ids: z.array(Id).optional(), filters: Filters.optional() });
const UpdateFramework = z.object({
  framework_info: FrameworkInfo,
  suppressed_roles: z.array(z.string()).optional(),
  offer_constraints: z.unknown().optional(),
});

/**
 * The call envelope. `type` is kept as a string here: an unknown type is answered 501, not
 * 400, so the master must see it rather than have decoding reject it.
 */
export const SchedulerCall = z.object({
  framework_id: Id.optional(),
  type: z.string(),
  subscribe: Subscribe.optional(),
  accept: Accept.optional(),
  decline: Decline.optional(),
  accept_inverse_offers: InverseOffers.optional(),
  decline_inverse_offers: InverseOffers.optional(),
  revive: Roles.optional(),
  kill: Kill.optional(),
  shutdown: Shutdown.optional(),
  acknowledge: Acknowledge.optional(),
  reconcile: Reconcile.optional(),
  message: Message.optional(),
  request: Request.optional(),
  suppress: Roles.optional(),
  update_framework: UpdateFramework.optional(),
  acknowledge_operation_status: z.unknown().optional(),
  reconcile_operations: z.unknown().optional(),
});
export type SchedulerCall = z.infer<typeof SchedulerCall>;

export interface Offer {
  id: Id;
  framework_id: Id;
  agent_id: Id;
  hostname: string;
  url: URL;
  resources: Resource[];
  attributes: Attribute[];
  executor_ids: Id[];
  /** Only for MULTI_ROLE frameworks. */
  allocation_info?: { role: string };
}

export type SchedulerEvent =
  | {
      type: 'SUBSCRIBED';
      subscribed: { framework_id: Id; heartbeat_interval_seconds: number; master_info: MasterInfo };
    }
  | { type: 'OFFERS'; offers: { offers: Offer[] } }
  | { type: 'RESCIND'; rescind: { offer_id: Id } }
  | { type: 'UPDATE'; update: { status: TaskStatus } }
  | { type: 'MESSAGE'; message: { agent_id: Id; executor_id: Id; data: string } }
  | { type: 'FAILURE'; failure: { agent_id?: Id; executor_id?: Id; status?: number } }
  | { type: 'ERROR'; error: { message: string } }
  | { type: 'HEARTBEAT' }
  | { type: 'UPDATE_OPERATION_STATUS'; update_operation_status: { status: OperationStatus } };

export interface OperationStatus {
  operation_id: Id;
  state: 'OPERATION_ERROR' | 'OPERATION_DROPPED' | 'OPERATION_UNKNOWN' | 'OPERATION_FINISHED' | 'OPERATION_FAILED';
  message?: string;
  agent_id?: Id;
}

export { FrameworkInfo, TaskInfo, TaskStatus };
