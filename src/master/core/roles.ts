/**
 * What `/roles` and GET_ROLES show (facts 3.1, 4.1): every role that has frameworks, a weight,
 * quota, reservations, tasks or offers, and its ancestors; each with what its subtree holds.
 */
import type { Resource } from '../../api/index.js';
import { Resources, parentRole } from '../../resources/index.js';
import type { MasterContext } from './context.js';
import { consumedBy } from './quota.js';

export interface RoleView {
  name: string;
  weight: number;
  /** Frameworks subscribed to exactly this role. */
  frameworks: string[];
  /** Used by tasks, offered, and reserved, in this role and the roles below it. */
  allocated: Resources;
  offered: Resources;
  reserved: Resources;
  quota: { guarantees: Record<string, number>; limits: Record<string, number>; consumed: Record<string, number> };
}

/** Views of every known role, sorted by name. */
export function roleViews(ctx: MasterContext): RoleView[] {
  const { state } = ctx;
  const views = new Map<string, RoleView>();
  const view = (role: string): RoleView => {
    let known = views.get(role);
    if (known === undefined) {
      const config = state.quotaConfigs.get(role);
      const plain = (m: Record<string, { value: number }> | undefined) => Object.fromEntries(Object.entries(m ?? {}).map(([n, s]) => [n, s.value]));
      known = {
        name: role,
        weight: state.weights.get(role) ?? 1,
        frameworks: [],
        allocated: Resources.empty(),
        offered: Resources.empty(),
        reserved: Resources.empty(),
        quota: { guarantees: plain(config?.guarantees), limits: plain(config?.limits), consumed: Object.fromEntries(consumedBy(ctx, role)) },
      };
      views.set(role, known);
    }
    return known;
  };
  /** Adds to the role and each of its ancestors (a role's numbers include its subtree). */
  const charge = (role: string, key: 'allocated' | 'offered' | 'reserved', resources: Resources) => {
    for (let r: string | undefined = role; r !== undefined; r = parentRole(r)) {
      const v = view(r);
      v[key] = v[key].add(resources);
    }
  };
  for (const framework of state.frameworks.values()) for (const role of framework.roles) view(role).frameworks.push(framework.id);
  for (const role of state.weights.keys()) view(role);
  for (const role of state.quotaConfigs.keys()) view(role);
  for (const agent of state.agents.values()) {
    for (const role of agent.total.reservedRoles()) charge(role, 'reserved', agent.total.reservedTo(role));
    for (const tasks of agent.tasks.values()) {
      for (const task of tasks.values()) if (!task.resourcesRecovered) charge(task.role, 'allocated', task.resources.unallocated());
    }
  }
  for (const offer of state.offers.values()) charge(offer.role, 'offered', offer.resources.unallocated());
  // Ancestors of roles seen only through frameworks, weights or quota are roles too.
  for (const role of [...views.keys()]) for (let r = parentRole(role); r !== undefined; r = parentRole(r)) view(r);
  return [...views.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `/roles` (legacy JSON): resources as /state summaries. */
export function rolesJson(ctx: MasterContext): { roles: Record<string, unknown>[] } {
  return {
    roles: roleViews(ctx).map((v) => ({
      name: v.name,
      weight: v.weight,
      frameworks: v.frameworks,
      resources: v.allocated.add(v.offered).summary(),
      allocated: v.allocated.summary(),
      offered: v.offered.summary(),
      reserved: v.reserved.summary(),
      quota: { role: v.name, guarantee: v.quota.guarantees, limit: v.quota.limits, consumed: v.quota.consumed },
    })),
  };
}

/** GET_ROLES's `roles`: resources as Resource messages, ids as FrameworkIDs. */
export function getRolesResponse(ctx: MasterContext): { roles: Record<string, unknown>[] } {
  const scalarMap = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([n, value]) => [n, { value }]));
  const wire = (r: Resources): Resource[] => r.toWire();
  return {
    roles: roleViews(ctx).map((v) => ({
      name: v.name,
      weight: v.weight,
      frameworks: v.frameworks.map((value) => ({ value })),
      resources: wire(v.allocated.add(v.offered)),
      allocated: wire(v.allocated),
      offered: wire(v.offered),
      reserved: wire(v.reserved),
      quota: {
        role: v.name,
        guarantees: scalarMap(v.quota.guarantees),
        limits: scalarMap(v.quota.limits),
        consumed: scalarMap(v.quota.consumed),
      },
    })),
  };
}
