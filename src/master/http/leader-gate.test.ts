import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../http/index.js';
import type { MasterRole } from '../leader/role.js';
import { registerLeaderGate } from './leader-gate.js';

const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

function aMasterIn(role: MasterRole) {
  const app = createHttpServer({ logger: pino({ level: 'silent' }) });
  registerLeaderGate(app, () => role);
  for (const path of ['/api/v1/scheduler', '/api/v1', '/master/state', '/health', '/master/redirect']) app.all(path, async () => 'served');
  apps.push(app);
  return app;
}

describe('the leader gate', () => {
  it('lets a leader serve everything', async () => {
    const app = aMasterIn({ kind: 'leading' });
    expect((await app.inject({ method: 'POST', url: '/api/v1/scheduler' })).body).toBe('served');
  });

  it('sends callers of a standby to the leader with 307, keeping path and query; /master/redirect to its base', async () => {
    const app = aMasterIn({ kind: 'standby', leader: { hostname: 'm2.example', port: 5051 } });
    for (const url of ['/api/v1/scheduler', '/api/v1', '/master/state?jsonp=f']) {
      const reply = await app.inject({ method: url.startsWith('/api') ? 'POST' : 'GET', url });
      expect(reply.statusCode).toBe(307);
      expect(reply.headers['location']).toBe(`//m2.example:5051${url}`);
    }
    const redirect = await app.inject({ method: 'GET', url: '/master/redirect' });
    expect([redirect.statusCode, redirect.headers['location']]).toEqual([307, '//m2.example:5051']);
    // Health is every master's own.
    expect((await app.inject({ method: 'GET', url: '/health' })).body).toBe('served');
  });

  it('answers 503 while no leader is elected, and while the registry is being recovered', async () => {
    const none = await aMasterIn({ kind: 'standby', leader: undefined }).inject({ method: 'POST', url: '/api/v1/scheduler' });
    expect([none.statusCode, none.body]).toEqual([503, 'No leader elected']);
    const recovering = await aMasterIn({ kind: 'recovering' }).inject({ method: 'GET', url: '/master/redirect' });
    expect([recovering.statusCode, recovering.body]).toEqual([503, 'Master has not finished recovery']);
  });
});
