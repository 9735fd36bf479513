/**
 * The master's legacy role endpoints (facts 4.1): `/roles`, `/weights` (GET, PUT), `/quota`
 * (GET, POST, DELETE /quota/<role>), `/reserve` and `/unreserve` (form-encoded POSTs), each
 * also under `/master/`. They turn into the same operator calls as the v1 API.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AgoraError } from '../../base/index.js';
import { QuotaRequest, Resource, WeightInfo, decodeJsonBody, decodeOrThrow, parseJsonLenient } from '../../api/index.js';
import type { MasterCall } from '../../api/index.js';
import { bodyText } from '../../http/index.js';
import type { MasterRuntime } from '../runtime.js';
import { sendJson } from './endpoints.js';
import { send } from './operator.js';

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

export function registerRoleEndpoints(app: FastifyInstance, runtime: () => MasterRuntime): void {
  const call = (c: MasterCall) => runtime().operatorCall(c);
  const body = async (c: MasterCall, key: string): Promise<unknown> => {
    const outcome = await call(c);
    if (outcome instanceof AgoraError) throw outcome;
    return (outcome.body as Record<string, unknown>)[key];
  };
  const route = (path: string, methods: Record<string, Handler>) => {
    for (const prefix of ['', '/master']) {
      app.all(`${prefix}${path}`, (request, reply) => {
        const handler = methods[request.method];
        if (handler !== undefined) return handler(request, reply);
        const allow = Object.keys(methods).join(', ');
        throw new AgoraError('AGORA_ERR_METHOD_NOT_ALLOWED', `Expecting one of { ${allow} }, received '${request.method}'`, { headers: { Allow: allow } });
      });
    }
  };

  route('/roles', { GET: async (request, reply) => sendJson(request, reply, runtime().core.rolesJson()) });

  route('/weights', {
    GET: async (request, reply) => {
      const weights = (await body({ type: 'GET_WEIGHTS' }, 'get_weights')) as { weight_infos: unknown[] };
      return sendJson(request, reply, weights.weight_infos);
    },
    PUT: async (request, reply) => {
      const weightInfos = decodeJsonBody(z.array(WeightInfo), bodyText(request.body), 'weights');
      return send(reply, await call({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: weightInfos } }));
    },
  });

  const quota = {
    GET: async (request: FastifyRequest, reply: FastifyReply) => {
      const status = (await body({ type: 'GET_QUOTA' }, 'get_quota')) as { status: unknown };
      return sendJson(request, reply, status.status);
    },
    POST: async (_request: FastifyRequest, reply: FastifyReply) => {
      const quotaRequest = decodeJsonBody(QuotaRequest, bodyText(_request.body), 'QuotaRequest');
      return send(reply, await call({ type: 'SET_QUOTA', set_quota: { quota_request: quotaRequest } }));
    },
  };
  route('/quota', quota);
  for (const prefix of ['', '/master']) {
    app.delete(`${prefix}/quota/*`, async (request, reply) => {
      const role = decodeURIComponent((request.params as Record<string, string>)['*'] ?? '');
      if (role === '') throw new AgoraError('AGORA_ERR_VALIDATION', "Expecting a role in the path, as in 'DELETE /quota/<role>'");
      return send(reply, await call({ type: 'REMOVE_QUOTA', remove_quota: { role } }));
    });
  }

  route('/reserve', {
    POST: async (request, reply) => {
      const form = formOf(request);
      const resources = resourcesParam(form);
      return send(reply, await call({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: agentIdParam(form) }, resources } }));
    },
  });
  route('/unreserve', {
    POST: async (request, reply) => {
      const form = formOf(request);
      const resources = resourcesParam(form);
      return send(reply, await call({ type: 'UNRESERVE_RESOURCES', unreserve_resources: { agent_id: { value: agentIdParam(form) }, resources } }));
    },
  });
}

/** `/reserve` and `/unreserve` take a form-encoded body (Mesos also reads the same from the query). */
function formOf(request: FastifyRequest): URLSearchParams {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== 'application/x-www-form-urlencoded') {
    throw new AgoraError(
      'AGORA_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Expecting a form-encoded body ('application/x-www-form-urlencoded': slaveId=<id>&resources=<JSON array of Resource>), received '${type}'`,
    );
  }
  return new URLSearchParams(bodyText(request.body));
}

function agentIdParam(form: URLSearchParams): string {
  const id = form.get('slaveId') ?? form.get('agentId');
  if (id === null || id === '') throw new AgoraError('AGORA_ERR_VALIDATION', "Missing 'slaveId' in the request body: send slaveId=<agent id>&resources=<JSON>");
  return id;
}

function resourcesParam(form: URLSearchParams): Resource[] {
  const text = form.get('resources');
  if (text === null) throw new AgoraError('AGORA_ERR_VALIDATION', "Missing 'resources' in the request body: a JSON array of Resource");
  let json: unknown;
  try {
    json = parseJsonLenient(text);
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `'resources' is not JSON: ${(err as Error).message}`);
  }
  return decodeOrThrow(z.array(Resource), json, 'resources');
}
