import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AdmittedAgent,
  type RegistryOperation,
  type RegistryState,
  agentsToPrune,
  applyMutations,
  applyRegistryOperation,
  emptyRegistry,
  recordMutations,
  registryRecords,
  stateFromRecords,
} from './index.js';

const DAY_MS = 24 * 3600 * 1000;
const at = (ms: number) => ({ nanoseconds: ms * 1e6 });
const agent = (id: string, hostname = `${id}.example`): AdmittedAgent => ({
  info: { id: { value: id }, hostname, port: 5051, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }] },
  endpoint: { ip: '10.0.0.1', port: 5051 },
});

function run(...operations: RegistryOperation[]): RegistryState {
  return operations.reduce(applyRegistryOperation, emptyRegistry());
}

describe('registry operations', () => {
  it('admit agents, move them to unreachable and back, and keep every list sorted', () => {
    const state = run(
      { type: 'ADMIT_AGENT', agent: agent('S2') },
      { type: 'ADMIT_AGENT', agent: agent('S1') },
      { type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: 'S2' }, timestamp: at(1000) },
    );
    expect(state.agents.map((a) => a.info.id.value)).toEqual(['S1']);
    expect(state.unreachable).toEqual([{ id: { value: 'S2' }, timestamp: at(1000) }]);
    // It comes back: admitted again (with its new info), no longer unreachable.
    const back = applyRegistryOperation(state, { type: 'ADMIT_AGENT', agent: agent('S2', 'renamed') });
    expect(back.agents.map((a) => [a.info.id.value, a.info.hostname])).toEqual([['S1', 'S1.example'], ['S2', 'renamed']]);
    expect(back.unreachable).toEqual([]);
  });

  it('mark an agent gone from admitted or unreachable, and remove or prune entries', () => {
    const state = run(
      { type: 'ADMIT_AGENT', agent: agent('S1') },
      { type: 'ADMIT_AGENT', agent: agent('S2') },
      { type: 'ADMIT_AGENT', agent: agent('S3') },
      { type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: 'S2' }, timestamp: at(1) },
      { type: 'MARK_AGENT_GONE', agent_id: { value: 'S1' }, timestamp: at(2) },
      { type: 'MARK_AGENT_GONE', agent_id: { value: 'S2' }, timestamp: at(3) },
      { type: 'REMOVE_AGENT', agent_id: { value: 'S3' } },
    );
    expect(state.agents).toEqual([]);
    expect(state.unreachable).toEqual([]);
    expect(state.gone.map((t) => t.id.value)).toEqual(['S1', 'S2']);
    expect(applyRegistryOperation(state, { type: 'PRUNE_AGENTS', unreachable: [], gone: ['S1'] }).gone.map((t) => t.id.value)).toEqual(['S2']);
  });

  it('store a maintenance schedule as given, and drop an empty one', () => {
    const schedule = { windows: [{ machine_ids: [{ hostname: 'h1' }], unavailability: { start: at(5), duration: { nanoseconds: 1e9 } } }] };
    const state = run({ type: 'UPDATE_MAINTENANCE_SCHEDULE', schedule });
    expect(state.schedules).toEqual([schedule]);
    expect(applyRegistryOperation(state, { type: 'UPDATE_MAINTENANCE_SCHEDULE', schedule: { windows: [] } }).schedules).toEqual([]);
  });

  it('do not change the state they are applied to', () => {
    const before = run({ type: 'ADMIT_AGENT', agent: agent('S1') });
    const copy = structuredClone(before);
    applyRegistryOperation(before, { type: 'MARK_AGENT_GONE', agent_id: { value: 'S1' }, timestamp: at(1) });
    expect(before).toEqual(copy);
  });
});

describe('registry GC', () => {
  const policy = { maxAgentAgeMs: 14 * DAY_MS, maxAgentCount: 3 };
  const now = 100 * DAY_MS;

  it('prunes entries older than the maximum age', () => {
    const entries = [
      { id: 'old', sinceMs: now - 15 * DAY_MS },
      { id: 'edge', sinceMs: now - 14 * DAY_MS },
      { id: 'new', sinceMs: now - DAY_MS },
    ];
    expect(agentsToPrune(entries, now, policy)).toEqual(['old']);
  });

  it('prunes the oldest beyond the maximum count, ties by id', () => {
    const entries = ['e', 'd', 'c', 'b', 'a'].map((id, i) => ({ id, sinceMs: now - (i < 2 ? 5 : 1) * DAY_MS }));
    // d and e are oldest (5 days); of the three 1-day-old ones, all fit.
    expect(agentsToPrune(entries, now, policy)).toEqual(['d', 'e']);
    expect(agentsToPrune(entries, now, { ...policy, maxAgentCount: 1 })).toEqual(['d', 'e', 'a', 'b']);
    expect(agentsToPrune([], now, policy)).toEqual([]);
  });

  it('never keeps more than the count nor anything older than the age (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), sinceMs: fc.integer({ min: 0, max: 30 * DAY_MS }) }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 10 }),
        (raw, maxAgentCount) => {
          const entries = [...new Map(raw.map((e) => [e.id, e])).values()];
          const pruned = new Set(agentsToPrune(entries, 30 * DAY_MS, { maxAgentAgeMs: 14 * DAY_MS, maxAgentCount }));
          const kept = entries.filter((e) => !pruned.has(e.id));
          expect(kept.length).toBeLessThanOrEqual(maxAgentCount);
          expect(kept.every((e) => 30 * DAY_MS - e.sinceMs <= 14 * DAY_MS)).toBe(true);
          // Only the oldest go: every kept entry is at least as new as every pruned one.
          const newestPruned = Math.max(...entries.filter((e) => pruned.has(e.id)).map((e) => e.sinceMs));
          expect(kept.every((e) => e.sinceMs >= newestPruned)).toBe(true);
        },
      ),
    );
  });
});

describe('registry records (the etcd layout)', () => {
  const parsed = (records: Map<string, string>) => Object.fromEntries([...records].map(([k, v]) => [k, JSON.parse(v) as unknown]));
  const operation: fc.Arbitrary<RegistryOperation> = fc.oneof(
    fc.constantFrom('S1', 'S2', 'S3').map((id): RegistryOperation => ({ type: 'ADMIT_AGENT', agent: agent(id) })),
    fc.tuple(fc.constantFrom('S1', 'S2', 'S3'), fc.nat(1000)).map(([id, t]): RegistryOperation => ({ type: 'MARK_AGENT_UNREACHABLE', agent_id: { value: id }, timestamp: at(t) })),
    fc.tuple(fc.constantFrom('S1', 'S2', 'S3'), fc.nat(1000)).map(([id, t]): RegistryOperation => ({ type: 'MARK_AGENT_GONE', agent_id: { value: id }, timestamp: at(t) })),
    fc.constantFrom('S1', 'S2').map((id): RegistryOperation => ({ type: 'REMOVE_AGENT', agent_id: { value: id } })),
    fc.subarray(['S1', 'S2', 'S3']).map((ids): RegistryOperation => ({ type: 'PRUNE_AGENTS', unreachable: ids, gone: ids.slice(1) })),
    fc.tuple(fc.constantFrom('eng', 'eng/ml', 'ops'), fc.double({ min: 0.1, max: 9, noNaN: true })).map(([role, weight]): RegistryOperation => ({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role, weight }] })),
    fc.tuple(fc.constantFrom('eng', 'ops'), fc.option(fc.nat(8), { nil: undefined })).map(([role, cpus]): RegistryOperation => ({
      type: 'UPDATE_QUOTA',
      quota_configs: [cpus === undefined ? { role } : { role, guarantees: { cpus: { value: cpus } } }],
    })),
    fc.boolean().map((some): RegistryOperation => ({
      type: 'UPDATE_MAINTENANCE_SCHEDULE',
      schedule: { windows: some ? [{ machine_ids: [{ hostname: 'h' }], unavailability: { start: at(1) } }] : [] },
    })),
  );

  it('each operation turns the records of a state into those of the next state (property)', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 25 }), (operations) => {
        let state = emptyRegistry();
        const records = registryRecords(state);
        for (const op of operations) {
          state = applyRegistryOperation(state, op);
          applyMutations(records, recordMutations(op));
          expect(parsed(records)).toEqual(parsed(registryRecords(state)));
        }
        // And the records read back as the state.
        const sorted = [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        expect(stateFromRecords(sorted, 'test')).toEqual(state);
      }),
    );
  });

  it('refuse records of an unknown section, bad JSON, a bad field, or a newer version, naming the key', () => {
    expect(() => stateFromRecords([['version', '2']], 'etcd')).toThrow(/version is 2/);
    expect(() => stateFromRecords([['nodes/x', '{}']], 'etcd')).toThrow(/'nodes\/x' is of no known section/);
    expect(() => stateFromRecords([['agents/S1', '{']], 'etcd')).toThrow(/'agents\/S1' is not JSON/);
    expect(() => stateFromRecords([['weights/eng', '{"role":"eng","weight":"heavy"}']], 'etcd')).toThrow(/registry\.weights\[0\]\.weight/);
    expect(stateFromRecords([], 'etcd')).toEqual(emptyRegistry());
  });
});
