/**
 * The agent's v1 Operator API, `POST /api/v1` (facts 3.3): GET_HEALTH, GET_VERSION, GET_STATE
 * and GET_CONTAINERS are answered from the core's books and the containers' cgroups; every
 * other call type is a 501 that names it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgentOperatorCall, decodeJsonBody, isTerminalState } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import { bodyText, checkV1Request } from '../../http/index.js';
import type { AgentCore, ExecutorEntry, FrameworkEntry, TaskEntry } from '../core/index.js';
import { getContainersResponse, type MeasuredContainer, measureContainers } from './containers.js';
import { type AgentDescription, executorName, resourcesOf } from './views.js';

export function registerOperatorApi(
  app: FastifyInstance,
  core: () => AgentCore,
  agent: () => AgentDescription,
  containers: () => readonly MeasuredContainer[],
): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    checkV1Request(request);
    const call = decodeJsonBody(AgentOperatorCall, bodyText(request.body), 'agent.Call');
    switch (call.type) {
      case 'GET_HEALTH':
        return send(reply, { type: 'GET_HEALTH', get_health: { healthy: true } });
      case 'GET_VERSION': {
        const a = agent();
        return send(reply, {
          type: 'GET_VERSION',
          get_version: { version_info: { version: a.version, build_date: a.buildDate, build_time: a.startTimeMs / 1000, build_user: '' } },
        });
      }
      case 'GET_STATE':
        return send(reply, { type: 'GET_STATE', get_state: getState(core()) });
      case 'GET_CONTAINERS':
        return send(reply, getContainersResponse(await measureContainers(core(), containers())));
      default:
        throw new AgoraError('AGORA_ERR_NOT_IMPLEMENTED', `agent.Call type ${call.type} is not implemented by agora's agent yet`);
    }
  };
  app.all('/api/v1', handler);
  app.all('/slave(1)/api/v1', handler);
}

function send(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.code(200).type('application/json').send(JSON.stringify(body));
}

/** agent.Response.GetState: {get_tasks, get_executors, get_frameworks}. */
function getState(core: AgentCore): Record<string, unknown> {
  const live = [...core.frameworks.values()];
  const executors = live.flatMap((f) => [...f.executors.values()]);
  const completed = [...live, ...core.completedFrameworks].flatMap((f) => f.completedExecutors);
  const launched = executors.filter((e) => !isTerminal(e.task));
  const terminated = executors.filter((e) => isTerminal(e.task));
  return {
    get_tasks: {
      pending_tasks: [],
      queued_tasks: [],
      launched_tasks: launched.map(taskJson),
      terminated_tasks: terminated.map(taskJson),
      completed_tasks: completed.map(taskJson),
    },
    get_executors: {
      executors: executors.map((e) => ({ executor_info: executorInfo(e) })),
      completed_executors: completed.map((e) => ({ executor_info: executorInfo(e) })),
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
function taskJson(executor: ExecutorEntry): Record<string, unknown> {
  const { task } = executor;
  const { info } = task;
  return {
    name: info.name,
    task_id: info.task_id,
    framework_id: { value: task.frameworkId },
    executor_id: { value: executor.id },
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
