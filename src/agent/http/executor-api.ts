/**
 * The v1 Executor API on the agent, `POST /api/v1/executor` (facts 2): SUBSCRIBE opens an event
 * stream per executor (a newer one replaces an older one), other calls are answered 202 once the
 * core has taken them. The core decides; this shell checks requests, holds the streams, and
 * writes the events the core emits.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AgentInfo, decodeJsonBody, EXECUTOR_API_PATH, ExecutorCall } from '../../api/index.js';
import { AgoraError, type ErrorCode } from '../../base/index.js';
import { accepted, bodyText, checkV1Request, EventStream } from '../../http/index.js';
import type { AgentCore, AgentInput, ExecutorEventOut } from '../core/index.js';

/** Mesos's agent-originated HEARTBEAT on executor streams (facts 2: internal interval 30 min). */
export const EXECUTOR_HEARTBEAT_INTERVAL_MS = 30 * 60_000;

const ERROR_CODES: Record<400 | 403 | 501, ErrorCode> = {
  400: 'AGORA_ERR_VALIDATION',
  403: 'AGORA_ERR_NOT_SUBSCRIBED',
  501: 'AGORA_ERR_NOT_IMPLEMENTED',
};

/** The open event streams of executors, by framework and executor id. */
export class ExecutorStreams {
  private readonly streams = new Map<string, { stream: EventStream; heartbeat: NodeJS.Timeout }>();

  constructor(
    private readonly agentInfo: () => AgentInfo,
    private readonly heartbeatIntervalMs = EXECUTOR_HEARTBEAT_INTERVAL_MS,
  ) {}

  /**
   * Makes `stream` the executor's stream, closing an older one first; `onGone` runs when this
   * stream closes while it is still the executor's.
   */
  open(frameworkId: string, executorId: string, stream: EventStream, onGone: () => void): void {
    const key = streamKey(frameworkId, executorId);
    this.close(frameworkId, executorId);
    const heartbeat = setInterval(() => stream.send({ type: 'HEARTBEAT' }), this.heartbeatIntervalMs).unref();
    const entry = { stream, heartbeat };
    this.streams.set(key, entry);
    stream.onClose(() => {
      clearInterval(heartbeat);
      if (this.streams.get(key) !== entry) return;
      this.streams.delete(key);
      onGone();
    });
  }

  /** Writes an event, if the executor has a stream; SUBSCRIBED gets this agent's AgentInfo. */
  send(frameworkId: string, executorId: string, event: ExecutorEventOut): void {
    const entry = this.streams.get(streamKey(frameworkId, executorId));
    if (entry === undefined) return;
    entry.stream.send(event.type === 'SUBSCRIBED' ? { ...event, subscribed: { ...event.subscribed, agent_info: this.agentInfo() } } : event);
  }

  /** Ends the executor's stream without telling the core (it asked for it). */
  close(frameworkId: string, executorId: string): void {
    const key = streamKey(frameworkId, executorId);
    const entry = this.streams.get(key);
    if (entry === undefined) return;
    this.streams.delete(key);
    clearInterval(entry.heartbeat);
    entry.stream.close();
  }

  closeAll(): void {
    for (const key of [...this.streams.keys()]) {
      const [frameworkId, executorId] = key.split('\u0000') as [string, string];
      this.close(frameworkId, executorId);
    }
  }
}

export function registerExecutorApi(
  app: FastifyInstance,
  deps: { core: () => AgentCore | undefined; dispatch: (input: AgentInput) => void; streams: () => ExecutorStreams | undefined },
): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    checkV1Request(request);
    const call = decodeJsonBody(ExecutorCall, bodyText(request.body), 'executor.Call');
    const core = deps.core();
    const streams = deps.streams();
    if (core === undefined || streams === undefined) throw new AgoraError('AGORA_ERR_UNAVAILABLE', 'Agent has not finished recovery');
    const error = core.executorCallError(call);
    if (error !== undefined) throw new AgoraError(ERROR_CODES[error.status], error.message);
    if (call.type !== 'SUBSCRIBE') {
      deps.dispatch({ kind: 'executorCall', call });
      return accepted(reply);
    }
    const frameworkId = call.framework_id.value;
    const executorId = call.executor_id.value;
    const stream = new EventStream(reply, {});
    streams.open(frameworkId, executorId, stream, () => deps.dispatch({ kind: 'executorDisconnected', frameworkId, executorId }));
    deps.dispatch({ kind: 'executorCall', call });
    return reply;
  };
  for (const path of [EXECUTOR_API_PATH, `/slave(1)${EXECUTOR_API_PATH}`]) app.all(path, handler);
}

function streamKey(frameworkId: string, executorId: string): string {
  return `${frameworkId}\u0000${executorId}`;
}
