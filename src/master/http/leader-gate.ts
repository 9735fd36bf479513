/**
 * In front of every master route: only a leading master serves (facts 0). A standby answers
 * `307` with `Location: //<leader-hostname>:<port><path>` (the same path and query), or `503`
 * "No leader elected" when it knows none; a master loading its registry answers `503` "Master
 * has not finished recovery". `/health` is answered by any master; `/master/redirect` sends
 * callers to the leader's base URL.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MasterRole } from '../leader/role.js';

const ANY_MASTER = new Set(['/health', '/master/health']);
const REDIRECT = new Set(['/redirect', '/master/redirect']);

export function registerLeaderGate(app: FastifyInstance, role: () => MasterRole): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    if (ANY_MASTER.has(path)) return;
    const now = role();
    if (now.kind === 'leading') return;
    if (now.kind === 'recovering') return unavailable(reply, 'Master has not finished recovery');
    if (now.leader === undefined) return unavailable(reply, 'No leader elected');
    const base = `//${now.leader.hostname}:${now.leader.port}`;
    return reply
      .code(307)
      .header('Location', REDIRECT.has(path) ? base : `${base}${request.url}`)
      .send();
  });
}

function unavailable(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(503).type('text/plain; charset=utf-8').send(message);
}
