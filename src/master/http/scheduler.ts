/**
 * `POST /api/v1/scheduler`: decodes the call, checks the v1 request rules, and hands it to the
 * runtime. SUBSCRIBE turns the response into the framework's RecordIO event stream.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError } from '../../base/index.js';
import { SchedulerCall, decodeJsonBody } from '../../api/index.js';
import { EventStream, bodyText, checkV1Request } from '../../http/index.js';
import type { MasterRuntime } from '../runtime.js';

const STREAM_ID_HEADER = 'mesos-stream-id';

export function registerSchedulerApi(app: FastifyInstance, runtime: () => MasterRuntime): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    checkV1Request(request);
    const call = decodeJsonBody(SchedulerCall, bodyText(request.body), 'scheduler.Call');
    const streamId = headerValue(request, STREAM_ID_HEADER);
    if (call.type === 'SUBSCRIBE') {
      const error = runtime().subscribeFramework(call, streamId, (id) => new EventStream(reply, { 'Mesos-Stream-Id': id }));
      if (error !== undefined) throw error;
      return reply;
    }
    const outcome = runtime().schedulerCall(call, streamId);
    if (outcome instanceof AgoraError) throw outcome;
    return reply.code(outcome).send();
  };
  app.all('/api/v1/scheduler', handler);
  app.all('/master/api/v1/scheduler', handler);
}

export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
