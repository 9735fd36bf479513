/**
 * Weights and quota from the operator's side (facts 3.1, 6.4): validated here, kept in the
 * master state and the registry (a `persist` effect), and handed to the allocator. A request
 * that cannot hold is refused whole, with the reason and the fix, before anything changes.
 */
import { AgoraError } from '../../base/index.js';
import type { QuotaConfig, QuotaRequest, Resource, WeightInfo } from '../../api/index.js';
import { DEFAULT_ROLE, Resources, isAncestorRole, validateRole } from '../../resources/index.js';
import type { RegistryState } from '../registry/state.js';
import { removeOffers, requestAllocation } from './allocation.js';
import type { MasterContext } from './context.js';

/** Applies what the registry holds, once, before the master serves. */
export function recoverRegistry(ctx: MasterContext, registry: RegistryState): void {
  for (const { role, weight } of registry.weights) ctx.state.weights.set(role, weight);
  ctx.allocator.updateWeights(registry.weights.map((w) => [w.role, w.weight] as const));
  for (const config of registry.quota_configs) {
    ctx.state.quotaConfigs.set(config.role, config);
    ctx.allocator.updateQuota(config.role, quotaSpec(config));
  }
}

export function getWeights(ctx: MasterContext): WeightInfo[] {
  return [...ctx.state.weights].map(([role, weight]) => ({ weight, role })).sort((a, b) => (a.role < b.role ? -1 : 1));
}

/** UPDATE_WEIGHTS and `PUT /weights`: all or nothing. */
export function updateWeights(ctx: MasterContext, infos: readonly WeightInfo[], field: string): AgoraError | undefined {
  const seen = new Set<string>();
  for (const [i, { role, weight }] of infos.entries()) {
    const invalid = validateRole(role);
    if (invalid !== undefined) return bad(`'${field}[${i}].role': ${invalid}`);
    if (seen.has(role)) return bad(`'${field}' sets the weight of role "${role}" twice`);
    seen.add(role);
    if (!(Number.isFinite(weight) && weight > 0)) {
      return bad(`'${field}[${i}].weight' of role "${role}" must be a positive number, got ${weight}`);
    }
  }
  if (infos.length === 0) return undefined;
  for (const { role, weight } of infos) ctx.state.weights.set(role, weight);
  ctx.allocator.updateWeights(infos.map((w) => [w.role, w.weight] as const));
  ctx.emit({ kind: 'persist', operation: { type: 'UPDATE_WEIGHTS', weight_infos: infos.map((w) => ({ weight: w.weight, role: w.role })) } });
  ctx.count('master/weights_updated');
  return undefined;
}

/** GET_QUOTA's `status`: the configs, and the deprecated infos (guarantees as resources). */
export function quotaStatus(ctx: MasterContext): { configs: QuotaConfig[]; infos: { role: string; guarantee: Resource[] }[] } {
  const configs = [...ctx.state.quotaConfigs.values()].sort((a, b) => (a.role < b.role ? -1 : 1));
  const infos = configs.map((c) => ({ role: c.role, guarantee: scalarsToWire(c.guarantees ?? {}) }));
  return { configs, infos };
}

/**
 * UPDATE_QUOTA: every config is checked, then all are applied. Without `force`, guarantees must
 * fit in the cluster and new limits must not be below what a role consumes already.
 */
export function updateQuota(ctx: MasterContext, configs: readonly QuotaConfig[], force: boolean, field: string): AgoraError | undefined {
  const seen = new Set<string>();
  for (const [i, config] of configs.entries()) {
    const error = checkConfig(config, `${field}[${i}]`);
    if (error !== undefined) return bad(error);
    if (seen.has(config.role)) return bad(`'${field}' configures role "${config.role}" twice`);
    seen.add(config.role);
  }
  if (!force) {
    const error = checkCapacity(ctx, configs) ?? checkConsumption(ctx, configs);
    if (error !== undefined) return bad(`${error}; or set 'force' to apply it anyway`);
  }
  for (const config of configs) {
    const spec = quotaSpec(config);
    if (Object.keys(spec.guarantees).length === 0 && Object.keys(spec.limits).length === 0) ctx.state.quotaConfigs.delete(config.role);
    else ctx.state.quotaConfigs.set(config.role, { role: config.role, guarantees: scalars(spec.guarantees), limits: scalars(spec.limits) });
    ctx.allocator.updateQuota(config.role, spec);
    // Offers made under the old quota may break the new one: take them back and offer again.
    for (const framework of ctx.state.frameworks.values()) {
      removeOffers(ctx, framework.offers, { rescind: true, recover: true }, (offer) => inSubtree(config.role, offer.role));
    }
  }
  ctx.emit({ kind: 'persist', operation: { type: 'UPDATE_QUOTA', quota_configs: configs.map((c) => ({ ...c })) } });
  ctx.count('master/quota_updated');
  requestAllocation(ctx);
  return undefined;
}

/** The deprecated SET_QUOTA / `POST /quota`: the guarantee is also the limit (as Mesos 1.9+ does). */
export function setQuota(ctx: MasterContext, request: QuotaRequest, field: string): AgoraError | undefined {
  const parsed = Resources.tryFromWire(request.guarantee ?? []);
  if ('error' in parsed) return bad(`'${field}.guarantee': ${parsed.error}`);
  if (parsed.hasReservations() || [...parsed.scalarQuantities().keys()].length !== parsed.names().length) {
    return bad(`'${field}.guarantee' must list unreserved scalar resources only, e.g. [{"name":"cpus","type":"SCALAR","scalar":{"value":4}}]`);
  }
  const guarantee = Object.fromEntries(parsed.scalarQuantities());
  if (Object.keys(guarantee).length === 0) return bad(`'${field}.guarantee' is empty; to remove a quota, DELETE /quota/<role> or use REMOVE_QUOTA`);
  const config = { role: request.role, guarantees: scalars(guarantee), limits: scalars(guarantee) };
  return updateQuota(ctx, [config], request.force ?? false, field);
}

export function removeQuota(ctx: MasterContext, role: string): AgoraError | undefined {
  if (!ctx.state.quotaConfigs.has(role)) return bad(`role "${role}" has no quota to remove`);
  return updateQuota(ctx, [{ role }], true, 'remove_quota');
}

function checkConfig(config: QuotaConfig, field: string): string | undefined {
  const invalid = validateRole(config.role);
  if (invalid !== undefined) return `'${field}.role': ${invalid}`;
  if (config.role === DEFAULT_ROLE) return `'${field}.role': quota cannot be set on role "*"; set it on a named role`;
  if (config.role.includes('/')) {
    const top = config.role.slice(0, config.role.indexOf('/'));
    return `'${field}.role': quota can only be set on top-level roles, not on "${config.role}"; set it on "${top}", which counts all of its sub-roles`;
  }
  for (const kind of ['guarantees', 'limits'] as const) {
    for (const [name, { value }] of Object.entries(config[kind] ?? {})) {
      if (!(Number.isFinite(value) && value >= 0)) return `'${field}.${kind}.${name}' must be a non-negative number, got ${value}`;
    }
  }
  for (const [name, { value }] of Object.entries(config.guarantees ?? {})) {
    const limit = config.limits?.[name]?.value;
    if (limit !== undefined && value > limit) {
      return `'${field}': role "${config.role}" would be guaranteed ${value} ${name} but limited to ${limit}; a guarantee must not exceed its limit`;
    }
  }
  return undefined;
}

/** The guarantees of every role after the update must fit in what the agents have. */
function checkCapacity(ctx: MasterContext, configs: readonly QuotaConfig[]): string | undefined {
  const after = new Map(ctx.state.quotaConfigs);
  for (const config of configs) after.set(config.role, config);
  const guaranteed = new Map<string, number>();
  for (const config of after.values()) {
    for (const [name, { value }] of Object.entries(config.guarantees ?? {})) guaranteed.set(name, (guaranteed.get(name) ?? 0) + value);
  }
  const capacity = clusterCapacity(ctx);
  for (const [name, total] of guaranteed) {
    const have = capacity.get(name) ?? 0;
    if (total > have + 1e-9) {
      return `quota guarantees would total ${round(total)} ${name}, more than the ${round(have)} ${name} the cluster's agents have; add agents or lower the guarantees`;
    }
  }
  return undefined;
}

/** A new limit must not be below what the role consumes: its reservations plus what its tasks use. */
function checkConsumption(ctx: MasterContext, configs: readonly QuotaConfig[]): string | undefined {
  for (const config of configs) {
    const consumed = consumedBy(ctx, config.role);
    for (const [name, { value }] of Object.entries(config.limits ?? {})) {
      const now = consumed.get(name) ?? 0;
      if (now > value + 1e-9) {
        return `role "${config.role}" consumes ${round(now)} ${name} now (reservations plus resources its tasks use), more than the new limit of ${value}; stop tasks or unreserve first`;
      }
    }
  }
  return undefined;
}

/** Scalars of every registered agent, by name. */
export function clusterCapacity(ctx: MasterContext): Map<string, number> {
  const capacity = new Map<string, number>();
  for (const agent of ctx.state.agents.values()) {
    for (const [name, value] of agent.total.scalarQuantities()) capacity.set(name, (capacity.get(name) ?? 0) + value);
  }
  return capacity;
}

/** Reservations in the role's subtree plus the unreserved scalars its subtree's tasks use (offers not counted). */
export function consumedBy(ctx: MasterContext, role: string): Map<string, number> {
  const out = new Map<string, number>();
  const add = (quantities: ReadonlyMap<string, number>, milli: boolean) => {
    for (const [name, v] of quantities) out.set(name, (out.get(name) ?? 0) + (milli ? v / 1000 : v));
  };
  for (const agent of ctx.state.agents.values()) {
    for (const [reservedRole, quantities] of agent.total.reservedQuantitiesByRole()) if (inSubtree(role, reservedRole)) add(quantities, true);
    for (const tasks of agent.tasks.values()) {
      for (const task of tasks.values()) {
        if (!task.resourcesRecovered && inSubtree(role, task.role)) add(task.resources.quotaScalars().scalarQuantities(), false);
      }
    }
  }
  return out;
}

export function inSubtree(root: string, role: string): boolean {
  return role === root || isAncestorRole(root, role);
}

function quotaSpec(config: QuotaConfig): { guarantees: Record<string, number>; limits: Record<string, number> } {
  const plain = (m: Record<string, { value: number }> | undefined) => Object.fromEntries(Object.entries(m ?? {}).map(([n, s]) => [n, s.value]));
  return { guarantees: plain(config.guarantees), limits: plain(config.limits) };
}

function scalars(record: Record<string, number>): Record<string, { value: number }> {
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, { value }]));
}

function scalarsToWire(record: Record<string, { value: number }>): Resource[] {
  return Object.entries(record).map(([name, { value }]) => ({ name, type: 'SCALAR', scalar: { value } }));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function bad(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}
