/**
 * The master's v1 Operator API calls that read or change the core's state (facts 3.1): weights,
 * quota, roles, reservations, teardown, marking an agent gone. Read-only views of agents, frameworks and tasks, and
 * facts about the process (version, flags), are answered by the HTTP shell.
 */
import { AgoraError } from '../../base/index.js';
import type { MasterCall } from '../../api/index.js';
import type { MasterContext } from './context.js';
import { removeFramework } from './frameworks.js';
import { markAgentGone } from './partitions.js';
import { getWeights, quotaStatus, removeQuota, setQuota, updateQuota, updateWeights } from './quota.js';
import { operatorReserve, operatorUnreserve } from './reservations.js';
import { getRolesResponse } from './roles.js';

/** 200 with a `master.Response` body, 202 for queued resource operations, or the error to answer. */
export type OperatorReply = { status: 200 | 202; body?: Record<string, unknown> } | AgoraError;

export const CORE_OPERATOR_CALLS = [
  'GET_WEIGHTS',
  'UPDATE_WEIGHTS',
  'GET_QUOTA',
  'UPDATE_QUOTA',
  'SET_QUOTA',
  'REMOVE_QUOTA',
  'GET_ROLES',
  'RESERVE_RESOURCES',
  'UNRESERVE_RESOURCES',
  'TEARDOWN',
  'MARK_AGENT_GONE',
] as const;

export function isCoreOperatorCall(type: string): type is (typeof CORE_OPERATOR_CALLS)[number] {
  return (CORE_OPERATOR_CALLS as readonly string[]).includes(type);
}

export function handleOperatorCall(ctx: MasterContext, call: MasterCall): OperatorReply {
  const done = (error: AgoraError | undefined): OperatorReply => error ?? { status: 200 };
  switch (call.type) {
    case 'GET_WEIGHTS':
      return { status: 200, body: { type: 'GET_WEIGHTS', get_weights: { weight_infos: getWeights(ctx) } } };
    case 'UPDATE_WEIGHTS':
      if (call.update_weights === undefined) return missing('update_weights');
      return done(updateWeights(ctx, call.update_weights.weight_infos ?? [], 'update_weights.weight_infos'));
    case 'GET_QUOTA':
      return { status: 200, body: { type: 'GET_QUOTA', get_quota: { status: quotaStatus(ctx) } } };
    case 'UPDATE_QUOTA':
      if (call.update_quota === undefined) return missing('update_quota');
      return done(updateQuota(ctx, call.update_quota.quota_configs ?? [], call.update_quota.force ?? false, 'update_quota.quota_configs'));
    case 'SET_QUOTA':
      if (call.set_quota === undefined) return missing('set_quota');
      return done(setQuota(ctx, call.set_quota.quota_request, 'set_quota.quota_request'));
    case 'REMOVE_QUOTA':
      if (call.remove_quota === undefined) return missing('remove_quota');
      return done(removeQuota(ctx, call.remove_quota.role));
    case 'GET_ROLES':
      return { status: 200, body: { type: 'GET_ROLES', get_roles: getRolesResponse(ctx) } };
    case 'RESERVE_RESOURCES': {
      const reserve = call.reserve_resources;
      if (reserve === undefined) return missing('reserve_resources');
      const reply = operatorReserve(ctx, reserve.agent_id.value, reserve.resources, reserve.source);
      return reply instanceof AgoraError ? reply : { status: reply };
    }
    case 'UNRESERVE_RESOURCES': {
      const unreserve = call.unreserve_resources;
      if (unreserve === undefined) return missing('unreserve_resources');
      const reply = operatorUnreserve(ctx, unreserve.agent_id.value, unreserve.resources);
      return reply instanceof AgoraError ? reply : { status: reply };
    }
    case 'TEARDOWN': {
      if (call.teardown === undefined) return missing('teardown');
      const framework = ctx.state.frameworks.get(call.teardown.framework_id.value);
      if (framework === undefined) return new AgoraError('AGORA_ERR_VALIDATION', `No framework found with ID ${call.teardown.framework_id.value}`);
      removeFramework(ctx, framework);
      return { status: 200 };
    }
    case 'MARK_AGENT_GONE':
      if (call.mark_agent_gone === undefined) return missing('mark_agent_gone');
      return markAgentGone(ctx, call.mark_agent_gone.agent_id.value);
    default:
      return new AgoraError('AGORA_ERR_NOT_IMPLEMENTED', `Operator call ${call.type} is not implemented by this agora version yet`);
  }
}

function missing(field: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', `Expecting '${field}' to be present`);
}
