/**
 * The shape of the agent Operator API's dispatch table (operator.ts): one handler per call type,
 * contributed by each subsystem, chained so that a later handler for a type wraps an earlier one.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AgentOperatorCall, AgentOperatorCallType } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';

/** A handler that took the reply over (a stream) answers this. */
export const REPLIED = Symbol('replied');

/** What a handler answers: a status and an optional JSON body, or REPLIED. */
export type OperatorAnswer = { status: number; body?: unknown } | typeof REPLIED;

export interface OperatorCallContext {
  request: FastifyRequest;
  reply: FastifyReply;
  /** For ATTACH_CONTAINER_INPUT: the records after the first, as they arrive (undecoded JSON text). */
  records?: AsyncIterable<string>;
}

/**
 * Answers one call type. `next` is the handler registered before this one for the same type (at
 * the bottom, a 501 naming the type), so a table may take the calls it knows and pass the others
 * on: e.g. WAIT_CONTAINER for debug sessions in session.ts, for other containers elsewhere.
 */
export type OperatorCallHandler = (
  call: AgentOperatorCall,
  context: OperatorCallContext,
  next: () => Promise<OperatorAnswer>,
) => OperatorAnswer | Promise<OperatorAnswer>;

export type OperatorHandlers = Partial<Record<AgentOperatorCallType, OperatorCallHandler>>;

/** One dispatch over the tables: the last handler for a type runs first, with the others as `next`. */
export function chainHandlers(tables: readonly OperatorHandlers[]): (call: AgentOperatorCall, context: OperatorCallContext) => Promise<OperatorAnswer> {
  return (call, context) => {
    let next = async (): Promise<OperatorAnswer> => {
      throw new AgoraError('AGORA_ERR_NOT_IMPLEMENTED', `agent.Call type ${call.type} is not implemented by agora's agent yet`);
    };
    for (const table of tables) {
      const handler = table[call.type];
      if (handler === undefined) continue;
      const previous = next;
      next = async () => handler(call, context, previous);
    }
    return next();
  };
}
