/**
 * What the master's registry holds, and the operations that change it (facts 9): weights and
 * quota now; admitted, unreachable and gone agents and maintenance join later as new fields and
 * operations. Pure: the file and etcd implementations store what these functions compute.
 */
import { z } from 'zod';
import { QuotaConfig, WeightInfo } from '../../api/index.js';

export const REGISTRY_VERSION = 1;

/** The registry as it is stored (JSON, Mesos's field names). Unknown fields are kept out by the schema. */
export const RegistryState = z.object({
  version: z.literal(REGISTRY_VERSION),
  weights: z.array(WeightInfo),
  quota_configs: z.array(QuotaConfig),
});
export type RegistryState = z.infer<typeof RegistryState>;

/** One change, applied atomically: the runtime waits for it to be stored before answering. */
export type RegistryOperation =
  /** Sets the weights of these roles; other roles keep theirs. */
  | { type: 'UPDATE_WEIGHTS'; weight_infos: WeightInfo[] }
  /** Sets the quota of these roles; a config with no guarantees and no limits removes the role's quota. */
  | { type: 'UPDATE_QUOTA'; quota_configs: QuotaConfig[] };

export function emptyRegistry(): RegistryState {
  return { version: REGISTRY_VERSION, weights: [], quota_configs: [] };
}

function isDefaultQuota(config: QuotaConfig): boolean {
  return Object.keys(config.guarantees ?? {}).length === 0 && Object.keys(config.limits ?? {}).length === 0;
}

/** The registry after `operation`, as a new value; entries stay sorted by role so files diff well. */
export function applyRegistryOperation(state: RegistryState, operation: RegistryOperation): RegistryState {
  switch (operation.type) {
    case 'UPDATE_WEIGHTS': {
      const weights = new Map(state.weights.map((w) => [w.role, w]));
      for (const w of operation.weight_infos) weights.set(w.role, { role: w.role, weight: w.weight });
      return { ...state, weights: [...weights.values()].sort(byRole) };
    }
    case 'UPDATE_QUOTA': {
      const configs = new Map(state.quota_configs.map((c) => [c.role, c]));
      for (const c of operation.quota_configs) {
        if (isDefaultQuota(c)) configs.delete(c.role);
        else configs.set(c.role, c);
      }
      return { ...state, quota_configs: [...configs.values()].sort(byRole) };
    }
  }
}

function byRole(a: { role: string }, b: { role: string }): number {
  return a.role < b.role ? -1 : a.role > b.role ? 1 : 0;
}
