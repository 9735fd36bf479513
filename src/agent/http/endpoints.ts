/**
 * The agent's legacy GET endpoints with Mesos's paths (facts 4.3): state, flags, health,
 * version, metrics and per-container usage, each also under `/slave(1)/` as Mesos's libprocess
 * names them; and the v1 Operator API.
 */
import { freemem, loadavg, totalmem, cpus } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AgentCore } from '../core/index.js';
import { containersJson, type MeasuredContainer, measureContainers, monitorStatisticsJson } from './containers.js';
import { type OperatorOptions, registerOperatorApi } from './operator.js';
import { type AgentDescription, agentMetrics, agentStateJson } from './views.js';

type Query = Record<string, string | undefined>;

/**
 * `core`, `agent` and `containers` are getters: routes are registered before the server knows
 * its port. `containers` lists the running containers with their usage; `operator` gives the
 * Operator API its files, debug sessions and more handlers.
 */
export function registerAgentEndpoints(
  app: FastifyInstance,
  core: () => AgentCore,
  agent: () => AgentDescription,
  containers: () => readonly MeasuredContainer[] = () => [],
  operator: OperatorOptions = {},
): void {
  const json = (names: string[], view: () => unknown) => {
    for (const name of names) {
      for (const path of [`/${name}`, `/slave(1)/${name}`]) {
        app.get(path, async (request: FastifyRequest, reply: FastifyReply) => sendJson(request, reply, await view()));
      }
    }
  };
  json(['state', 'state.json'], () => agentStateJson(core(), agent()));
  json(['flags'], () => ({ flags: agent().flags }));
  json(['version'], () => ({
    version: agent().version,
    build_date: agent().buildDate,
    build_time: agent().startTimeMs / 1000,
    build_user: '',
  }));
  json(['metrics/snapshot'], () => agentMetrics(core(), agent(), Date.now(), systemMetrics()));
  json(['monitor/statistics', 'monitor/statistics.json'], async () => monitorStatisticsJson(await measureContainers(core(), containers())));
  json(['containers'], async () => containersJson(await measureContainers(core(), containers())));
  registerOperatorApi(app, core, agent, containers, operator);
  for (const path of ['/health', '/slave(1)/health']) app.get(path, (_request, reply) => reply.code(200).send());
}

function systemMetrics(): Record<string, number> {
  const [load1, load5, load15] = loadavg();
  return {
    'system/cpus_total': cpus().length,
    'system/load_1min': load1 ?? 0,
    'system/load_5min': load5 ?? 0,
    'system/load_15min': load15 ?? 0,
    'system/mem_total_bytes': totalmem(),
    'system/mem_free_bytes': freemem(),
  };
}

/** JSON with Mesos's optional `?jsonp=callback` wrapping. */
function sendJson(request: FastifyRequest, reply: FastifyReply, body: unknown): FastifyReply {
  const callback = (request.query as Query)['jsonp'];
  const text = JSON.stringify(body);
  if (callback !== undefined && /^[A-Za-z_$][\w$.]*$/.test(callback)) {
    return reply.type('text/javascript').send(`${callback}(${text});`);
  }
  return reply.type('application/json').send(text);
}
