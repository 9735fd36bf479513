/**
 * Dispatch of non-SUBSCRIBE scheduler calls, with Mesos's checks in Mesos's order: stream id
 * header present, call well-formed, framework known, subscribed, and on its current stream.
 */
import { AgoraError } from '../../base/index.js';
import { SCHEDULER_CALL_TYPES } from '../../api/index.js';
import type { SchedulerCall, SchedulerCallType } from '../../api/index.js';
import { requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';
import { removeFramework, updateFramework } from './frameworks.js';
import { acceptOffers, declineOffers } from './launch.js';
import { reconcileTasks } from './reconciliation.js';
import { frameworkMessage, shutdownExecutor } from './executors.js';
import { acknowledge, killTask } from './status-updates.js';

/** 202 for queued calls, 200 for UPDATE_FRAMEWORK, or the error to answer. */
export type CallReply = 200 | 202 | AgoraError;

/** Which sub-message each call type must carry. */
const REQUIRED_PAYLOAD: Partial<Record<SchedulerCallType, keyof SchedulerCall>> = {
  ACCEPT: 'accept',
  DECLINE: 'decline',
  ACCEPT_INVERSE_OFFERS: 'accept_inverse_offers',
  DECLINE_INVERSE_OFFERS: 'decline_inverse_offers',
  KILL: 'kill',
  SHUTDOWN: 'shutdown',
  ACKNOWLEDGE: 'acknowledge',
  RECONCILE: 'reconcile',
  MESSAGE: 'message',
  REQUEST: 'request',
  UPDATE_FRAMEWORK: 'update_framework',
  ACKNOWLEDGE_OPERATION_STATUS: 'acknowledge_operation_status',
  RECONCILE_OPERATIONS: 'reconcile_operations',
};

export function isKnownCallType(type: string): type is SchedulerCallType {
  return (SCHEDULER_CALL_TYPES as readonly string[]).includes(type);
}

export function unknownTypeError(type: string): AgoraError {
  return bad(`'type' has unknown value "${type}"; expected one of ${SCHEDULER_CALL_TYPES.filter((t) => t !== 'UNKNOWN').join(', ')}`);
}

export function handleSchedulerCall(ctx: MasterContext, call: SchedulerCall, streamIdHeader: string | undefined): CallReply {
  if (!isKnownCallType(call.type)) return unknownTypeError(call.type);
  if (streamIdHeader === undefined) return bad("All non-subscribe calls should include the 'Mesos-Stream-Id' header");
  if (call.framework_id === undefined) return bad("Expecting 'framework_id' to be present");
  const payload = REQUIRED_PAYLOAD[call.type];
  if (payload !== undefined && call[payload] === undefined) return bad(`Expecting '${payload}' to be present`);

  const framework = ctx.state.frameworks.get(call.framework_id.value);
  if (framework === undefined) return bad('Framework cannot be found');
  if (framework.connection === undefined) return new AgoraError('AGORA_ERR_NOT_SUBSCRIBED', 'Framework is not subscribed');
  if (framework.streamId !== streamIdHeader) {
    return bad(
      `The stream ID '${streamIdHeader}' included in this request didn't match the stream ID currently associated with framework ID ${framework.id}`,
    );
  }
  ctx.count(`master/frameworks/calls/${call.type}`);

  switch (call.type) {
    case 'TEARDOWN':
      ctx.count('master/messages_unregister_framework');
      removeFramework(ctx, framework);
      return 202;
    case 'ACCEPT':
      acceptOffers(ctx, framework, call.accept!);
      return 202;
    case 'DECLINE':
      declineOffers(ctx, framework, call.decline!);
      return 202;
    case 'REVIVE':
      ctx.count('master/messages_revive_offers');
      ctx.allocator.reviveOffers(framework.id, call.revive?.roles);
      requestAllocation(ctx);
      return 202;
    case 'SUPPRESS':
      ctx.count('master/messages_suppress_offers');
      ctx.allocator.suppressOffers(framework.id, call.suppress?.roles);
      return 202;
    case 'KILL':
      killTask(ctx, framework, call.kill!);
      return 202;
    case 'SHUTDOWN':
      shutdownExecutor(ctx, framework, call.shutdown!);
      return 202;
    case 'ACKNOWLEDGE':
      return acknowledge(ctx, framework, call.acknowledge!) ?? 202;
    case 'RECONCILE':
      reconcileTasks(ctx, framework, call.reconcile!);
      return 202;
    case 'MESSAGE':
      ctx.count('master/messages_framework_to_executor');
      frameworkMessage(ctx, framework, call.message!);
      return 202;
    case 'REQUEST':
      // The built-in allocator ignores requests, as Mesos's does.
      ctx.count('master/messages_resource_request');
      return 202;
    case 'ACCEPT_INVERSE_OFFERS':
    case 'DECLINE_INVERSE_OFFERS':
      // agora sends no inverse offers yet, so every id is unknown; Mesos ignores unknown ones.
      return 202;
    case 'UPDATE_FRAMEWORK':
      return updateFramework(ctx, framework, call) ?? 200;
    case 'ACKNOWLEDGE_OPERATION_STATUS':
    case 'RECONCILE_OPERATIONS':
      return new AgoraError('AGORA_ERR_NOT_IMPLEMENTED', `${call.type} is not implemented by this agora version yet`);
    case 'UNKNOWN':
      return new AgoraError('AGORA_ERR_NOT_IMPLEMENTED', "Received an 'UNKNOWN' call");
    case 'SUBSCRIBE':
      return bad('SUBSCRIBE must be sent without a Mesos-Stream-Id header, on its own connection');
  }
}

function bad(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}
