/**
 * The master's legacy GET endpoints with Mesos's paths and shapes (facts 4.1, 4.2): state,
 * state-summary, frameworks, slaves, tasks, health, version, flags, redirect, metrics.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError } from '../../base/index.js';
import { frameworkJson, masterMetrics, masterStateJson, stateSummaryJson, taskJson } from '../core/index.js';
import type { MasterCore } from '../core/index.js';
import type { MasterDescription } from '../core/index.js';

type Query = Record<string, string | undefined>;

export function registerMasterEndpoints(app: FastifyInstance, core: () => MasterCore, master: () => MasterDescription): void {
  const json = (paths: string[], view: (query: Query) => unknown) => {
    for (const path of paths) {
      app.get(path, (request: FastifyRequest, reply: FastifyReply) => sendJson(request, reply, view(request.query as Query)));
    }
  };
  json(['/master/state', '/state', '/master/state.json', '/state.json'], () => masterStateJson(core(), master()));
  json(['/master/state-summary', '/state-summary'], () => stateSummaryJson(core(), master()));
  json(['/metrics/snapshot'], () => masterMetrics(core(), master(), Date.now()));
  json(['/version', '/master/version'], () => ({
    version: master().version,
    build_date: master().buildDate,
    build_time: master().startTimeMs / 1000,
    build_user: '',
  }));
  json(['/master/flags', '/flags'], () => ({ flags: master().flags }));
  json(['/master/frameworks', '/frameworks'], (query) => {
    const { state } = core();
    const wanted = query['framework_id'];
    const pick = <T extends { id: string }>(list: T[]) => list.filter((f) => wanted === undefined || f.id === wanted);
    return {
      frameworks: pick([...state.frameworks.values()]).map((f) => frameworkJson(core(), f, true)),
      completed_frameworks: pick(state.completedFrameworks.map((c) => c.record)).map((f) => frameworkJson(core(), f, false)),
      unregistered_frameworks: [],
    };
  });
  json(['/master/slaves', '/slaves'], (query) => {
    const all = (masterStateJson(core(), master())['slaves'] as Array<{ id: string }>) ?? [];
    const wanted = query['slave_id'];
    // Agents known from the registry that have not re-registered since the master started.
    const recovered = [...core().state.recoveredAgents.values()]
      .filter((r) => wanted === undefined || r.id === wanted)
      .map((r) => ({ id: r.id, hostname: r.info.hostname, port: r.info.port ?? r.endpoint?.port, attributes: {}, resources: {} }));
    return { slaves: all.filter((s) => wanted === undefined || s.id === wanted), recovered_slaves: recovered };
  });
  json(['/master/tasks', '/tasks'], (query) => tasksView(core(), query));

  for (const path of ['/master/health', '/health']) app.get(path, (_request, reply) => reply.code(200).send());
  for (const path of ['/master/redirect', '/redirect']) {
    app.get(path, (_request, reply) => {
      const { hostname, port } = master();
      return reply.code(307).header('Location', `//${hostname}:${port}`).send();
    });
  }
}

function tasksView(core: MasterCore, query: Query): unknown {
  const limit = nonNegativeInt(query, 'limit', 100);
  const offset = nonNegativeInt(query, 'offset', 0);
  const order = query['order'] ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw badParam("'order' must be 'asc' or 'desc'");
  const tasks = [];
  for (const framework of core.state.frameworks.values()) {
    if (query['framework_id'] !== undefined && framework.id !== query['framework_id']) continue;
    tasks.push(...framework.tasks.values(), ...framework.unreachableTasks.values(), ...framework.completedTasks);
  }
  const matching = tasks.filter((t) => query['task_id'] === undefined || t.info.task_id.value === query['task_id']);
  const stamp = (t: (typeof matching)[number]) => t.statuses[0]?.timestamp ?? 0;
  matching.sort((a, b) => (order === 'asc' ? stamp(a) - stamp(b) : stamp(b) - stamp(a)));
  return { tasks: matching.slice(offset, offset + limit).map(taskJson) };
}

function nonNegativeInt(query: Query, name: string, fallback: number): number {
  const text = query[name];
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw badParam(`'${name}' must be a non-negative integer, got '${text}'`);
  return Number(text);
}

function badParam(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', `Failed to parse query parameters: ${message}`);
}

/** JSON with Mesos's optional `?jsonp=callback` wrapping. */
export function sendJson(request: FastifyRequest, reply: FastifyReply, body: unknown): FastifyReply {
  const callback = (request.query as Query)['jsonp'];
  const text = JSON.stringify(body);
  if (callback !== undefined && /^[A-Za-z_$][\w$.]*$/.test(callback)) {
    return reply.type('text/javascript').send(`${callback}(${text});`);
  }
  return reply.type('application/json').send(text);
}
