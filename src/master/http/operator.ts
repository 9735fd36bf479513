/**
 * `POST /api/v1` on the master: the v1 Operator API (facts 3.1). Calls on the core's state go
 * through the runtime (which answers only once a change is stored); facts about the process
 * (health, version, flags, metrics) and the read-only state views are answered here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError } from '../../base/index.js';
import { MasterCall, decodeJsonBody } from '../../api/index.js';
import { bodyText, checkV1Request } from '../../http/index.js';
import { getAgents, getFrameworks, getState, getTasks, isCoreOperatorCall, masterMetrics } from '../core/index.js';
import type { MasterDescription, OperatorReply } from '../core/index.js';
import type { MasterRuntime } from '../runtime.js';

export function registerOperatorApi(app: FastifyInstance, runtime: () => MasterRuntime, master: () => MasterDescription): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    checkV1Request(request);
    const call = decodeJsonBody(MasterCall, bodyText(request.body), 'master.Call');
    const outcome = isCoreOperatorCall(call.type) ? await runtime().operatorCall(call) : answer(call.type, runtime(), master());
    return send(reply, outcome);
  };
  app.all('/api/v1', handler);
  app.all('/master/api/v1', handler);
}

/** Sends an operator reply: the error's status and text, or the status with a JSON body if any. */
export function send(reply: FastifyReply, outcome: OperatorReply): FastifyReply {
  if (outcome instanceof AgoraError) throw outcome;
  if (outcome.body === undefined) return reply.code(outcome.status).send();
  return reply.code(outcome.status).type('application/json').send(JSON.stringify(outcome.body));
}

function answer(type: string, runtime: MasterRuntime, master: MasterDescription): OperatorReply {
  const { core } = runtime;
  const ok = (body: Record<string, unknown>): OperatorReply => ({ status: 200, body: { type, ...body } });
  switch (type) {
    case 'GET_HEALTH':
      return ok({ get_health: { healthy: true } });
    case 'GET_VERSION':
      return ok({
        get_version: {
          version_info: { version: master.version, build_date: master.buildDate, build_time: master.startTimeMs / 1000, build_user: '' },
        },
      });
    case 'GET_FLAGS':
      return ok({ get_flags: { flags: Object.entries(master.flags).map(([name, value]) => ({ name, value })) } });
    case 'GET_METRICS':
      return ok({ get_metrics: { metrics: Object.entries(masterMetrics(core, master, Date.now())).map(([name, value]) => ({ name, value })) } });
    case 'GET_MASTER':
      return ok({
        get_master: {
          master_info: core.config.masterInfo,
          start_time: master.startTimeMs / 1000,
          elected_time: master.electedTimeMs / 1000,
        },
      });
    case 'GET_FRAMEWORKS':
      return ok({ get_frameworks: getFrameworks(core) });
    case 'GET_AGENTS':
      return ok({ get_agents: getAgents(core) });
    case 'GET_TASKS':
      return ok({ get_tasks: getTasks(core) });
    case 'GET_STATE':
      return ok({ get_state: getState(core) });
    default:
      return new AgoraError('AGORA_ERR_NOT_IMPLEMENTED', `Operator call ${type} is not implemented by this agora version yet`);
  }
}
