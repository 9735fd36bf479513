/**
 * The agent's v1 Operator API, `POST /api/v1` (facts 3.3): the request rules (content types,
 * streaming calls) and a table of handlers by call type. Each subsystem contributes its part of
 * the table (files-api.ts, session.ts, attach.ts, ...); a call type nobody answers is a 501 that
 * names it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import {
  AgentOperatorCall,
  type AgentOperatorCallType,
  decodeJsonBody,
  isTerminalState,
  RECORDIO_TYPE,
} from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import type { IdNames } from '../../containerizer/index.js';
import { bodyText, JSON_TYPE } from '../../http/index.js';
import type { AgentCore, ExecutorEntry, FrameworkEntry, HttpExecutorEntry, TaskEntry } from '../core/index.js';
import { readAttachInput } from './attach.js';
import { getContainersResponse, type MeasuredContainer, measureContainers } from './containers.js';
import { filesHandlers } from './files-api.js';
import { chainHandlers, type OperatorAnswer, type OperatorCallContext, type OperatorHandlers, REPLIED } from './operator-handlers.js';
import type { SandboxPaths } from './sandbox-paths.js';
import { type ContainerLookup, DebugSessions, sessionHandlers } from './session.js';
import { type AgentDescription, executorName, httpExecutorTasks, resourcesOf } from './views.js';

export { REPLIED, type OperatorAnswer, type OperatorCallContext, type OperatorCallHandler, type OperatorHandlers } from './operator-handlers.js';
export type { ContainerLookup, EnterableContainer } from './session.js';

const PROTOBUF_TYPE = 'application/x-protobuf';

/** Calls whose response is a RecordIO stream of ProcessIO (`Accept: application/recordio`). */
const STREAMING_RESPONSES: ReadonlySet<AgentOperatorCallType> = new Set(['LAUNCH_NESTED_CONTAINER_SESSION', 'ATTACH_CONTAINER_OUTPUT']);
/** The one call whose request is a RecordIO stream (`Content-Type: application/recordio`). */
const STREAMING_REQUEST: AgentOperatorCallType = 'ATTACH_CONTAINER_INPUT';

/** What the operator API reads beyond the core; optional parts answer 501 when absent. */
export interface OperatorOptions {
  /** The sandbox guard and id names of `/files`, for LIST_FILES and READ_FILE. */
  files?: { paths: SandboxPaths; names: IdNames };
  /** Running containers debug sessions may enter, for LAUNCH_NESTED_CONTAINER_SESSION. */
  enterable?: ContainerLookup;
  /** ProcessIO heartbeats on output streams (Mesos's --http_heartbeat_interval, 30secs). */
  heartbeatIntervalMs?: number;
  /**
   * More tables (e.g. nested containers), after the state and files tables and before the
   * sessions' (a later handler for a type wraps an earlier one; see operator-handlers.ts).
   */
  handlers?: OperatorHandlers[];
}

export function registerOperatorApi(
  app: FastifyInstance,
  core: () => AgentCore,
  agent: () => AgentDescription,
  containers: () => readonly MeasuredContainer[],
  options: OperatorOptions = {},
): void {
  const tables: OperatorHandlers[] = [stateHandlers(core, agent, containers)];
  if (options.files !== undefined) tables.push(filesHandlers(options.files.paths, options.files.names));
  tables.push(...(options.handlers ?? []));
  // Last, so it runs first: it answers WAIT/KILL for its sessions and passes other containers on.
  if (options.enterable !== undefined) {
    const sessions = new DebugSessions(options.enterable, { heartbeatIntervalMs: options.heartbeatIntervalMs ?? 30_000 });
    app.addHook('onClose', () => sessions.closeAll());
    tables.push(sessionHandlers(sessions));
  }
  const dispatch = chainHandlers(tables);

  // The body of ATTACH_CONTAINER_INPUT is a stream that lasts as long as the input: it reaches
  // the handler unread (other bodies are read whole as text by the shared server).
  app.addContentTypeParser(RECORDIO_TYPE, (_request, payload, done) => done(null, payload));

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const context: OperatorCallContext = { request, reply };
    let call: AgentOperatorCall;
    if (checkContentType(request) === 'recordio') {
      const input = await readAttachInput(request.body as Readable);
      call = input.call;
      context.records = input.records;
      if (call.type !== STREAMING_REQUEST) {
        throw new AgoraError(
          'AGORA_ERR_UNSUPPORTED_MEDIA_TYPE',
          `Expecting 'Content-Type' of '${JSON_TYPE}' for ${call.type}: only ${STREAMING_REQUEST} streams its request`,
        );
      }
    } else {
      call = decodeJsonBody(AgentOperatorCall, bodyText(request.body), 'agent.Call');
      if (call.type === STREAMING_REQUEST) {
        throw new AgoraError(
          'AGORA_ERR_UNSUPPORTED_MEDIA_TYPE',
          `Expecting 'Content-Type' of '${RECORDIO_TYPE}' (with 'Message-Content-Type: ${JSON_TYPE}') for ${STREAMING_REQUEST}: its body is a stream of records`,
        );
      }
    }
    checkAccept(request, call.type);
    const answer = await dispatch(call, context);
    if (answer === REPLIED) return reply;
    if (answer.body === undefined) return reply.code(answer.status).send();
    return reply.code(answer.status).type(JSON_TYPE).send(JSON.stringify(answer.body));
  };
  app.all('/api/v1', handler);
  app.all('/slave(1)/api/v1', handler);
}

/**
 * The v1 request rules (facts 0) for this endpoint: POST, a Content-Type that is JSON, or
 * RecordIO with a JSON Message-Content-Type for the streaming request.
 */
function checkContentType(request: FastifyRequest): 'json' | 'recordio' {
  if (request.method !== 'POST') {
    throw new AgoraError('AGORA_ERR_METHOD_NOT_ALLOWED', `Expecting a 'POST' request, received '${request.method}'`, {
      headers: { Allow: 'POST' },
    });
  }
  const contentType = header(request, 'content-type');
  if (contentType === undefined || contentType.trim() === '') {
    throw new AgoraError('AGORA_ERR_NO_CONTENT_TYPE', `Expecting 'Content-Type' to be present; send '${JSON_TYPE}'`);
  }
  const type = mediaType(contentType);
  if (type === JSON_TYPE) return 'json';
  if (type === RECORDIO_TYPE) {
    const messageType = header(request, 'message-content-type');
    if (messageType === undefined || messageType.trim() === '') {
      throw new AgoraError(
        'AGORA_ERR_VALIDATION',
        `Expecting 'Message-Content-Type' to be set for a streaming request ('Content-Type: ${RECORDIO_TYPE}'); send '${JSON_TYPE}'`,
      );
    }
    if (mediaType(messageType) !== JSON_TYPE) {
      throw new AgoraError(
        'AGORA_ERR_UNSUPPORTED_MEDIA_TYPE',
        `Expecting 'Message-Content-Type' of '${JSON_TYPE}', received '${messageType}'; agora reads JSON records only`,
      );
    }
    return 'recordio';
  }
  if (type === PROTOBUF_TYPE) {
    throw new AgoraError('AGORA_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type '${contentType}' is not supported yet: agora reads '${JSON_TYPE}' bodies`);
  }
  throw new AgoraError(
    'AGORA_ERR_UNSUPPORTED_MEDIA_TYPE',
    `Expecting 'Content-Type' of '${JSON_TYPE}' (or '${RECORDIO_TYPE}' for ${STREAMING_REQUEST}), received '${contentType}'`,
  );
}

/** Streaming responses need `Accept` to allow RecordIO and `Message-Accept` JSON; others JSON. */
function checkAccept(request: FastifyRequest, type: AgentOperatorCallType): void {
  const accept = header(request, 'accept');
  if (!STREAMING_RESPONSES.has(type)) {
    if (!accepts(accept, JSON_TYPE)) {
      throw new AgoraError('AGORA_ERR_NOT_ACCEPTABLE', `Expecting 'Accept' to allow '${JSON_TYPE}' for ${type}; agora answers in JSON only`);
    }
    return;
  }
  if (!accepts(accept, RECORDIO_TYPE)) {
    throw new AgoraError(
      'AGORA_ERR_NOT_ACCEPTABLE',
      `Expecting 'Accept' to allow '${RECORDIO_TYPE}' for ${type}: its response is a stream of ProcessIO records`,
    );
  }
  if (!accepts(header(request, 'message-accept'), JSON_TYPE)) {
    throw new AgoraError(
      'AGORA_ERR_NOT_ACCEPTABLE',
      `Expecting 'Message-Accept' to allow '${JSON_TYPE}' for ${type}; agora streams JSON records only`,
    );
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function mediaType(value: string): string {
  return value.split(';')[0]!.trim().toLowerCase();
}

/** Whether an Accept-style header allows `type` (absent allows everything; q=0 refuses). */
function accepts(value: string | undefined, type: string): boolean {
  if (value === undefined || value.trim() === '') return true;
  const [major] = type.split('/');
  return value.split(',').some((part) => {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return range === type || range === `${major}/*` || range === '*/*';
  });
}

/** GET_HEALTH, GET_VERSION, GET_STATE and GET_CONTAINERS, from the core's books and the cgroups. */
function stateHandlers(core: () => AgentCore, agent: () => AgentDescription, containers: () => readonly MeasuredContainer[]): OperatorHandlers {
  const ok = (body: unknown): OperatorAnswer => ({ status: 200, body });
  return {
    GET_HEALTH: () => ok({ type: 'GET_HEALTH', get_health: { healthy: true } }),
    GET_VERSION: () => {
      const a = agent();
      return ok({
        type: 'GET_VERSION',
        get_version: { version_info: { version: a.version, build_date: a.buildDate, build_time: a.startTimeMs / 1000, build_user: '' } },
      });
    },
    GET_STATE: () => ok({ type: 'GET_STATE', get_state: getState(core()) }),
    GET_CONTAINERS: async () => ok(getContainersResponse(await measureContainers(core(), containers()))),
  };
}

/** agent.Response.GetState: {get_tasks, get_executors, get_frameworks}. */
function getState(core: AgentCore): Record<string, unknown> {
  const live = [...core.frameworks.values()];
  const executors = live.flatMap((f) => [...f.executors.values()]);
  const completed = [...live, ...core.completedFrameworks].flatMap((f) => f.completedExecutors);
  const launched = executors.filter((e) => !isTerminal(e.task));
  const terminated = executors.filter((e) => isTerminal(e.task));
  // Custom and default executors (task groups) with their tasks, as Mesos lists them.
  const http = live.flatMap((f) => [...f.httpExecutors.values()]);
  const httpCompleted = [...live, ...core.completedFrameworks].flatMap((f) => f.completedHttpExecutors);
  const httpTasks = (pick: 'queued' | 'launched' | 'completed', list: HttpExecutorEntry[]) =>
    list.flatMap((e) => httpExecutorTasks(e)[pick].map((t) => taskJson(t, e.id)));
  return {
    get_tasks: {
      pending_tasks: [],
      queued_tasks: httpTasks('queued', http),
      launched_tasks: launched.map((e) => taskJson(e.task, e.id)).concat(httpTasks('launched', http)),
      terminated_tasks: terminated.map((e) => taskJson(e.task, e.id)).concat(httpTasks('completed', http)),
      completed_tasks: completed.map((e) => taskJson(e.task, e.id)).concat(httpTasks('completed', httpCompleted)),
    },
    get_executors: {
      executors: executors.map((e) => ({ executor_info: executorInfo(e) })).concat(http.map((e) => ({ executor_info: e.info }))),
      completed_executors: completed.map((e) => ({ executor_info: executorInfo(e) })).concat(httpCompleted.map((e) => ({ executor_info: e.info }))),
    },
    get_frameworks: {
      frameworks: live.map(frameworkInfo),
      completed_frameworks: core.completedFrameworks.map(frameworkInfo),
    },
  };
}

function isTerminal(task: TaskEntry): boolean {
  return isTerminalState(task.state);
}

/** A v1 `Task` message. */
function taskJson(task: TaskEntry, executorId: string): Record<string, unknown> {
  const { info } = task;
  return {
    name: info.name,
    task_id: info.task_id,
    framework_id: { value: task.frameworkId },
    executor_id: { value: executorId },
    agent_id: info.agent_id,
    state: task.state,
    resources: resourcesOf(task).toWire(),
    statuses: task.statuses,
    ...(task.statuses.length === 0 ? {} : { status_update_state: task.state, status_update_uuid: task.statuses.at(-1)!.uuid }),
    ...(info.labels === undefined ? {} : { labels: info.labels }),
    ...(info.container === undefined ? {} : { container: info.container }),
    ...(info.command?.user === undefined ? {} : { user: info.command.user }),
  };
}

function executorInfo(executor: ExecutorEntry): Record<string, unknown> {
  const command = executor.task.info.command;
  return {
    type: 'DEFAULT',
    executor_id: { value: executor.id },
    framework_id: { value: executor.frameworkId },
    name: executorName(executor),
    source: executor.id,
    resources: resourcesOf(executor.task).toWire(),
    ...(command === undefined ? {} : { command }),
  };
}

function frameworkInfo(framework: FrameworkEntry): Record<string, unknown> {
  return { framework_info: { ...framework.info, id: { value: framework.id } } };
}
