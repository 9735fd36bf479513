import { describe, expect, it } from 'vitest';
import { AgoraError } from '../../base/index.js';
import type { Offer, Resource } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { MasterHarness } from './harness.js';

function wire(text: string): Resource[] {
  return (Resources.parse(text) as Resources).toWire();
}

/** `text` with a DYNAMIC reservation for `role` on top of each resource. */
function reservedWire(text: string, role: string, principal?: string): Resource[] {
  return wire(text).map((r) => ({ ...r, reservations: [...(r.reservations ?? []), { type: 'DYNAMIC' as const, role, ...(principal === undefined ? {} : { principal }) }] }));
}

function offered(offer: Offer): string {
  return Resources.fromWire(offer.resources).unallocated().toString();
}

const RR = [{ type: 'RESERVATION_REFINEMENT' as const }, { type: 'MULTI_ROLE' as const }];

describe('operator reservations', () => {
  it('reserve unallocated resources, rescinding offers that hold them, and tell the agent to checkpoint', () => {
    const h = new MasterHarness();
    const web = h.subscribe({ roles: ['web'], capabilities: RR });
    const agent = h.addAgent('cpus:4;mem:1024');
    h.settle();
    expect(web.outstandingOffers()).toHaveLength(1);
    const reply = h.operator({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: agent.id }, resources: reservedWire('cpus:2;mem:512', 'db') } });
    expect(reply).toEqual({ status: 202 });
    expect(web.eventsOf('RESCIND')).toHaveLength(1);
    const [checkpoint] = agent.eventsOf('CHECKPOINT_RESOURCES');
    expect(Resources.fromWire(checkpoint!.checkpoint_resources.resources).toString()).toBe('cpus:2;cpus(db):2;mem:512;mem(db):512');
    h.settle();
    // web is offered only what stays unreserved; a framework of db gets the reservation.
    expect(web.outstandingOffers().map(offered)).toEqual(['cpus:2;mem:512']);
    const db = h.subscribe({ roles: ['db'], capabilities: RR });
    h.settle();
    expect(db.outstandingOffers().map(offered)).toEqual(['cpus(db):2;mem(db):512']);
    // Reservations live on agents, not in the registry: only the agent's admission is stored.
    expect(h.persisted.map((op) => op.type)).toEqual(['ADMIT_AGENT']);
  });

  it('answer 409 when tasks use the resources, and 400 naming what is wrong with the request', () => {
    const h = new MasterHarness();
    const f = h.subscribe();
    const agent = h.addAgent('cpus:1;mem:128');
    h.settle();
    f.launch(f.offers()[0]!, [{ id: 't1', resources: 'cpus:1;mem:128' }]);
    const busy = h.operator({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: agent.id }, resources: reservedWire('cpus:1', 'db') } });
    expect(busy).toBeInstanceOf(AgoraError);
    expect((busy as AgoraError).httpStatus).toBe(409);
    expect((busy as AgoraError).message).toContain('tasks use them');
    const cases: Array<[Resource[], string]> = [
      [wire('cpus:1'), 'has no reservation'],
      [wire('cpus(db):1'), 'must end with a DYNAMIC reservation'],
      [reservedWire('cpus:64', 'db'), 'does not have'],
      [[], 'lists no resources'],
    ];
    for (const [resources, text] of cases) {
      const reply = h.operator({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: agent.id }, resources } });
      expect((reply as AgoraError).message).toContain(text);
    }
    expect((h.operator({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: 'nope' }, resources: reservedWire('cpus:1', 'db') } }) as AgoraError).message).toBe('No agent found with ID nope');
    expect(agent.eventsOf('CHECKPOINT_RESOURCES')).toHaveLength(0);
  });

  it('unreserve dynamic reservations only, giving the resources back to everyone', () => {
    const h = new MasterHarness();
    const agent = h.addAgent('cpus:4;mem:1024;cpus(ops):1');
    const id = { value: agent.id };
    expect(h.operator({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: id, resources: reservedWire('cpus:2', 'db', 'alice') } })).toEqual({ status: 202 });
    const stat = h.operator({ type: 'UNRESERVE_RESOURCES', unreserve_resources: { agent_id: id, resources: wire('cpus(ops):1') } });
    expect((stat as AgoraError).message).toContain('reserved statically');
    expect(h.operator({ type: 'UNRESERVE_RESOURCES', unreserve_resources: { agent_id: id, resources: reservedWire('cpus:2', 'db', 'alice') } })).toEqual({ status: 202 });
    expect(h.core.state.agents.get(agent.id)!.total.toString()).toBe('cpus:4;cpus(ops):1;mem:1024');
    expect(agent.eventsOf('CHECKPOINT_RESOURCES')).toHaveLength(2);
  });
});

describe('framework RESERVE and UNRESERVE', () => {
  it('reserve for the offer role, carrying the principal, and report the operation', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ roles: ['db'], principal: 'dba', capabilities: RR });
    const agent = h.addAgent('cpus:4;mem:1024');
    h.settle();
    const [offer] = f.offers();
    const reply = f.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer!.id],
        operations: [{ type: 'RESERVE', id: { value: 'op1' }, reserve: { resources: reservedWire('cpus:1;mem:256', 'db', 'dba') } }],
        filters: { refuse_seconds: 0 },
      },
    });
    expect(reply).toBe(202);
    expect(f.eventsOf('UPDATE_OPERATION_STATUS').map((e) => e.update_operation_status.status.state)).toEqual(['OPERATION_FINISHED']);
    expect(Resources.fromWire(agent.eventsOf('CHECKPOINT_RESOURCES')[0]!.checkpoint_resources.resources).reservedTo('db').toString()).toBe('cpus(db):1;mem(db):256');
    h.settle();
    // The declined rest and the new reservation come back in the next offer, post-refinement.
    const [next] = f.outstandingOffers();
    expect(offered(next!)).toBe('cpus:3;cpus(db):1;mem:768;mem(db):256');
    expect(next!.resources.find((r) => r.reservations !== undefined)?.reservations).toEqual([{ type: 'DYNAMIC', role: 'db', principal: 'dba' }]);
  });

  it('refuse reservations for another role or principal with OPERATION_ERROR, and go on', () => {
    const h = new MasterHarness();
    const f = h.subscribe({ roles: ['db'], principal: 'dba', capabilities: RR });
    h.addAgent('cpus:4;mem:1024');
    h.settle();
    f.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [f.offers()[0]!.id],
        operations: [
          { type: 'RESERVE', id: { value: 'role' }, reserve: { resources: reservedWire('cpus:1', 'web', 'dba') } },
          { type: 'RESERVE', id: { value: 'principal' }, reserve: { resources: reservedWire('cpus:1', 'db', 'eve') } },
          { type: 'RESERVE', id: { value: 'ok' }, reserve: { resources: reservedWire('cpus:1', 'db', 'dba') } },
        ],
      },
    });
    const statuses = f.eventsOf('UPDATE_OPERATION_STATUS').map((e) => e.update_operation_status.status);
    expect(statuses.map((s) => `${s.operation_id.value}:${s.state}`)).toEqual(['role:OPERATION_ERROR', 'principal:OPERATION_ERROR', 'ok:OPERATION_FINISHED']);
    expect(statuses[0]!.message).toContain('the offer is allocated to role "db"');
    expect(statuses[1]!.message).toContain('principal is "dba"');
  });

  it('unreserve what the offer holds, and show pre-refinement resources to frameworks without the capability', () => {
    const h = new MasterHarness();
    const agent = h.addAgent('cpus:2;mem:256');
    h.operator({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: agent.id }, resources: reservedWire('cpus:1', 'db') } });
    const f = h.subscribe({ role: 'db' });
    h.settle();
    const [offer] = f.offers();
    expect(offer!.resources.find((r) => r.name === 'cpus' && r.role === 'db')).toMatchObject({ role: 'db', reservation: {} });
    expect(offer!.resources.find((r) => r.name === 'cpus' && r.role === '*')?.scalar?.value).toBe(1);
    f.call({ type: 'ACCEPT', accept: { offer_ids: [offer!.id], operations: [{ type: 'UNRESERVE', unreserve: { resources: reservedWire('cpus:1', 'db') } }] } });
    expect(h.core.state.agents.get(agent.id)!.total.toString()).toBe('cpus:2;mem:256');
  });
});

describe('agents and their reservations', () => {
  it('keep the master view of dynamic reservations an agent missed while disconnected', () => {
    const h = new MasterHarness();
    const agent = h.addAgent('cpus:4;mem:1024');
    agent.disconnect();
    expect(h.operator({ type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: agent.id }, resources: reservedWire('cpus:1', 'db') } })).toEqual({ status: 202 });
    const back = h.addAgent('cpus:4;mem:1024', { agent_info: { id: { value: agent.id }, hostname: 'h' } } as never);
    expect(back.id).toBe(agent.id);
    const [checkpoint] = back.eventsOf('CHECKPOINT_RESOURCES');
    expect(Resources.fromWire(checkpoint!.checkpoint_resources.resources).toString()).toBe('cpus:3;cpus(db):1;mem:1024');
  });
});
