/**
 * The master's end of the internal agent link: SUBSCRIBE opens the agent's event stream;
 * status updates, pongs and unsubscribes arrive as plain POSTs answered 202.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AGENT_LINK_PATH, AgentCall, decodeJsonBody } from '../../api/index.js';
import { EventStream, bodyText, checkV1Request } from '../../http/index.js';
import type { MasterRuntime } from '../runtime.js';
import { headerValue } from './scheduler.js';

export function registerAgentLink(app: FastifyInstance, runtime: () => MasterRuntime): void {
  app.all(AGENT_LINK_PATH, (request: FastifyRequest, reply: FastifyReply) => {
    checkV1Request(request);
    const call = decodeJsonBody(AgentCall, bodyText(request.body), 'agent.Call');
    if (call.type === 'SUBSCRIBE') {
      const error = runtime().subscribeAgent(call.subscribe, (id) => new EventStream(reply, { 'Mesos-Stream-Id': id }));
      if (error !== undefined) throw error;
      return reply;
    }
    const error = runtime().agentCall(call, headerValue(request, 'mesos-stream-id'));
    if (error !== undefined) throw error;
    return reply.code(202).send();
  });
}
