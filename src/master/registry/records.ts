/**
 * The registry as records, one key per entry, as the etcd registry stores it
 * (docs/decisions/0009-ha-on-etcd.md): `agents/<id>`, `unreachable/<id>`, `gone/<id>`,
 * `weights/<role>`, `quota/<role>`, `schedule` and `version`, each holding the entry's JSON.
 * Every operation maps to a few puts and deletes, so a write never carries the whole registry.
 * Pure.
 */
import { AgoraError } from '../../base/index.js';
import { describeIssues, parseJsonLenient } from '../../api/index.js';
import {
  REGISTRY_VERSION,
  type RegistryOperation,
  RegistryState,
  isDefaultQuota,
  isEmptySchedule,
} from './state.js';

/** A change to one record: a put of `value`, or a delete when it is undefined. */
export interface RecordMutation {
  key: string;
  value?: string;
}

export const VERSION_KEY = 'version';

/** Every record of `state` (key -> JSON). */
export function registryRecords(state: RegistryState): Map<string, string> {
  const records = new Map<string, string>([[VERSION_KEY, String(REGISTRY_VERSION)]]);
  for (const w of state.weights) records.set(`weights/${w.role}`, JSON.stringify(w));
  for (const c of state.quota_configs) records.set(`quota/${c.role}`, JSON.stringify(c));
  for (const a of state.agents) records.set(`agents/${a.info.id.value}`, JSON.stringify(a));
  for (const t of state.unreachable) records.set(`unreachable/${t.id.value}`, JSON.stringify(t));
  for (const t of state.gone) records.set(`gone/${t.id.value}`, JSON.stringify(t));
  if (state.schedules[0] !== undefined) records.set('schedule', JSON.stringify(state.schedules[0]));
  return records;
}

/** The puts and deletes that turn the records of a state into those of the state after `operation`. */
export function recordMutations(operation: RegistryOperation): RecordMutation[] {
  const put = (key: string, value: unknown): RecordMutation => ({ key, value: JSON.stringify(value) });
  const del = (key: string): RecordMutation => ({ key });
  // The version record goes with every write: a registry written at all says what format it is in.
  const version: RecordMutation = { key: VERSION_KEY, value: String(REGISTRY_VERSION) };
  switch (operation.type) {
    case 'UPDATE_WEIGHTS':
      return [version, ...operation.weight_infos.map((w) => put(`weights/${w.role}`, { weight: w.weight, role: w.role }))];
    case 'UPDATE_QUOTA':
      return [version, ...operation.quota_configs.map((c) => (isDefaultQuota(c) ? del(`quota/${c.role}`) : put(`quota/${c.role}`, c)))];
    case 'ADMIT_AGENT': {
      const id = operation.agent.info.id.value;
      return [version, put(`agents/${id}`, operation.agent), del(`unreachable/${id}`)];
    }
    case 'MARK_AGENT_UNREACHABLE': {
      const id = operation.agent_id.value;
      return [version, del(`agents/${id}`), put(`unreachable/${id}`, { id: { value: id }, timestamp: operation.timestamp })];
    }
    case 'MARK_AGENT_GONE': {
      const id = operation.agent_id.value;
      return [version, del(`agents/${id}`), del(`unreachable/${id}`), put(`gone/${id}`, { id: { value: id }, timestamp: operation.timestamp })];
    }
    case 'REMOVE_AGENT':
      return [version, del(`agents/${operation.agent_id.value}`)];
    case 'PRUNE_AGENTS':
      return [version, ...operation.unreachable.map((id) => del(`unreachable/${id}`)), ...operation.gone.map((id) => del(`gone/${id}`))];
    case 'UPDATE_MAINTENANCE_SCHEDULE':
      return [version, isEmptySchedule(operation.schedule) ? del('schedule') : put('schedule', operation.schedule)];
  }
}

/** Applies mutations to records in place (the fake store and tests use it). */
export function applyMutations(records: Map<string, string>, mutations: readonly RecordMutation[]): void {
  for (const m of mutations) {
    if (m.value === undefined) records.delete(m.key);
    else records.set(m.key, m.value);
  }
}

/**
 * The registry the records describe. `where` names the store in errors. Throws an AgoraError
 * naming the key and the field when a record cannot be read: a master never starts from a
 * registry it does not understand, nor overwrites it.
 */
export function stateFromRecords(records: Iterable<[string, string]>, where: string): RegistryState {
  const state = {
    version: REGISTRY_VERSION as typeof REGISTRY_VERSION,
    weights: [] as unknown[],
    quota_configs: [] as unknown[],
    agents: [] as unknown[],
    unreachable: [] as unknown[],
    gone: [] as unknown[],
    schedules: [] as unknown[],
  };
  for (const [key, text] of records) {
    if (key === VERSION_KEY) {
      if (Number(text) !== REGISTRY_VERSION) {
        throw unreadable(where, `its version is ${text}, and this agora reads version ${REGISTRY_VERSION}; run a newer agora`);
      }
      continue;
    }
    const slash = key.indexOf('/');
    const section = slash === -1 ? key : key.slice(0, slash);
    const list = { weights: state.weights, quota: state.quota_configs, agents: state.agents, unreachable: state.unreachable, gone: state.gone, schedule: state.schedules }[
      section
    ];
    if (list === undefined) throw unreadable(where, `the record '${key}' is of no known section`);
    let json: unknown;
    try {
      json = parseJsonLenient(text);
    } catch (err) {
      throw unreadable(where, `the record '${key}' is not JSON (${(err as Error).message})`);
    }
    list.push(json);
  }
  const parsed = RegistryState.safeParse(state);
  if (!parsed.success) throw unreadable(where, describeIssues(parsed.error, 'registry'));
  // Keys come sorted, so the lists are sorted by id or role, as RegistryModel.toState() gives them.
  return parsed.data;
}

function unreadable(where: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', `the registry in ${where} cannot be read: ${why}; restore it from a backup, or remove it to start empty`);
}
