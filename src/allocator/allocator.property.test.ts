import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock, Prng } from '../base/index.js';
import { Resources } from '../resources/index.js';
import { type Allocation, Allocator } from './allocator.js';

const AGENT_TOTALS = ['cpus:4;mem:4096;ports:[31000-31009]', 'cpus:2;mem:1024;cpus(eng):2;mem(eng):512', 'cpus:8;mem:512;gpus:1'];
const FRAMEWORKS = [
  { id: 'f0', roles: ['web'] },
  { id: 'f1', roles: ['eng', 'web'] },
  { id: 'f2', roles: ['eng/ml'] },
];

const event = fc.oneof(
  fc.record({ kind: fc.constant('allocate' as const), some: fc.boolean(), agent: fc.nat(2) }),
  fc.record({ kind: fc.constant('recover' as const), pick: fc.nat(), refuseSeconds: fc.constantFrom(0, 0, 5, 3600), part: fc.boolean() }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.constantFrom(1000, 5000, 60_000) }),
  fc.record({ kind: fc.constant('suppress' as const), fw: fc.nat(2), revive: fc.boolean() }),
  fc.record({ kind: fc.constant('toggleFramework' as const), fw: fc.nat(2) }),
  fc.record({ kind: fc.constant('toggleAgent' as const), agent: fc.nat(2) }),
  fc.record({ kind: fc.constant('readdAgent' as const), agent: fc.nat(2) }),
  fc.record({ kind: fc.constant('readdFramework' as const), fw: fc.nat(2) }),
);

describe('Allocator under random events', () => {
  it('never offers more than an agent has, and its books always balance', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), fc.integer(), (events, seed) => {
        const clock = new ManualClock();
        const allocator = new Allocator({ clock, prng: new Prng(seed) });
        const totals = AGENT_TOTALS.map((text) => Resources.parse(text) as Resources);
        totals.forEach((total, i) => allocator.addAgent(`a${i}`, { hostname: `h${i}` }, total));
        for (const fw of FRAMEWORKS) allocator.addFramework(fw.id, { roles: fw.roles });
        // What the test believes is outstanding, as the master would: offers not yet given back.
        let outstanding: Allocation[] = [];
        const active = { frameworks: new Set(FRAMEWORKS.map((f) => f.id)), agents: new Set(['a0', 'a1', 'a2']) };

        for (const e of events) {
          switch (e.kind) {
            case 'allocate': {
              const fresh = allocator.allocate(e.some ? [`a${e.agent}`] : undefined);
              for (const a of fresh) {
                expect(active.frameworks.has(a.frameworkId)).toBe(true);
                expect(active.agents.has(a.agentId)).toBe(true);
                expect(a.resources.unallocated().isEmpty()).toBe(false);
              }
              outstanding.push(...fresh);
              break;
            }
            case 'recover': {
              const a = outstanding[e.pick % Math.max(1, outstanding.length)];
              if (a === undefined) break;
              outstanding = outstanding.filter((x) => x !== a);
              const cpus = a.resources.scalar('cpus');
              const keep = e.part && cpus >= 1 ? (Resources.parse('cpus:1') as Resources).allocatedTo(a.role) : Resources.empty();
              const given = a.resources.contains(keep) ? a.resources.subtract(keep) : a.resources;
              allocator.recoverResources(a.frameworkId, a.agentId, given, e.refuseSeconds);
              if (!given.equals(a.resources)) outstanding.push({ ...a, resources: a.resources.subtract(given) });
              break;
            }
            case 'time':
              clock.advanceMs(e.ms);
              break;
            case 'suppress':
              if (e.revive) allocator.reviveOffers(FRAMEWORKS[e.fw]!.id);
              else allocator.suppressOffers(FRAMEWORKS[e.fw]!.id);
              break;
            case 'toggleFramework': {
              const id = FRAMEWORKS[e.fw]!.id;
              if (active.frameworks.delete(id)) allocator.deactivateFramework(id);
              else {
                active.frameworks.add(id);
                allocator.activateFramework(id);
              }
              break;
            }
            case 'toggleAgent': {
              const id = `a${e.agent}`;
              if (active.agents.delete(id)) allocator.deactivateAgent(id);
              else {
                active.agents.add(id);
                allocator.activateAgent(id);
              }
              break;
            }
            case 'readdAgent': {
              // An agent re-registers reporting what is still outstanding on it as used.
              const id = `a${e.agent}`;
              const used = new Map<string, Resources>();
              for (const a of outstanding.filter((x) => x.agentId === id)) {
                used.set(a.frameworkId, (used.get(a.frameworkId) ?? Resources.empty()).add(a.resources));
              }
              allocator.removeAgent(id);
              allocator.addAgent(id, { hostname: id }, totals[e.agent]!, used);
              active.agents.add(id);
              break;
            }
            case 'readdFramework': {
              // A framework torn down: the master recovers its resources, then removes it; it comes back fresh.
              const fw = FRAMEWORKS[e.fw]!;
              for (const a of outstanding.filter((x) => x.frameworkId === fw.id)) allocator.recoverResources(a.frameworkId, a.agentId, a.resources);
              outstanding = outstanding.filter((x) => x.frameworkId !== fw.id);
              allocator.removeFramework(fw.id);
              allocator.addFramework(fw.id, { roles: fw.roles });
              active.frameworks.add(fw.id);
              break;
            }
          }
          allocator.checkInvariants();
          // The allocator's records match the outstanding offers, agent by agent.
          totals.forEach((total, i) => {
            const id = `a${i}`;
            const held = outstanding.filter((a) => a.agentId === id).reduce((sum, a) => sum.add(a.resources.unallocated()), Resources.empty());
            expect(allocator.available(id).add(held).equals(total)).toBe(true);
          });
        }
      }),
      { numRuns: 150 },
    );
  });
});
