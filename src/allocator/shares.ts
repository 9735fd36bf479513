/**
 * The two levels of the DRF: roles in the role tree (each level by weighted share of all its
 * subtree holds), then frameworks within each role. Keeps quantities and order only; who
 * competes is the allocator's call.
 */
import { BugIndicatingError, assert } from '../base/index.js';
import { RoleSorter } from './role-sorter.js';
import { type Milli, type Quantities, type ScalarSlots, addMilli, dominantShare } from './scalars.js';
import { DrfSorter } from './sorter.js';

export function addQuantities(into: Map<string, number>, quantities: Quantities, sign: 1 | -1): void {
  for (const [name, milli] of quantities) {
    const sum = (into.get(name) ?? 0) + sign * milli;
    if (sum === 0) into.delete(name);
    else into.set(name, sum);
  }
}

export class Shares {
  /** Level one: the role tree; a role is active while one of its frameworks competes. */
  readonly roleSorter: RoleSorter;
  /** Level two: per role, the frameworks subscribed to it or still holding resources in it. */
  private readonly frameworkSorters = new Map<string, DrfSorter>();
  private total: Milli;
  private totalChanged = false;
  private readonly excludedSlots: Uint8Array;

  constructor(
    private readonly excluded: ReadonlySet<string>,
    weightOf: (role: string) => number,
    private readonly slots: ScalarSlots,
  ) {
    this.roleSorter = new RoleSorter(excluded, weightOf, slots);
    this.total = slots.zeros();
    this.excludedSlots = slots.mask(excluded);
  }

  /** Cluster total of each scalar in thousandths; shares are measured against it. */
  addToTotal(quantities: Milli, sign: 1 | -1): void {
    this.total = addMilli(this.total, quantities, sign);
    this.totalChanged = true;
  }

  totalQuantities(): Quantities {
    return this.slots.toMap(this.total);
  }

  /** Competing roles in hierarchical DRF order. A live view: copy it to hold it across an allocation. */
  roleOrder(): readonly string[] {
    this.flushTotal();
    return this.roleSorter.sort();
  }

  /** Competing frameworks of a role, lowest share first; same caveat. */
  frameworkOrder(role: string): readonly string[] {
    return this.sorter(role).sort();
  }

  has(frameworkId: string, role: string): boolean {
    return this.frameworkSorters.get(role)?.has(frameworkId) === true;
  }

  /** Adds the framework to the role if need be, and sets whether it competes for offers there. */
  setCompeting(frameworkId: string, role: string, competing: boolean): void {
    let sorter = this.frameworkSorters.get(role);
    if (sorter === undefined) {
      sorter = new DrfSorter(this.excluded, this.slots);
      sorter.updateTotalMilli(this.total);
      this.frameworkSorters.set(role, sorter);
      this.roleSorter.add(role);
    }
    if (!sorter.has(frameworkId)) sorter.add(frameworkId);
    if (competing) sorter.activate(frameworkId);
    else sorter.deactivate(frameworkId);
    this.syncRole(role);
  }

  /** Forgets the framework in the role once it holds nothing there (it left the role). */
  dropIfIdle(frameworkId: string, role: string): void {
    const sorter = this.frameworkSorters.get(role);
    if (sorter === undefined || !sorter.has(frameworkId) || !sorter.holdsNothing(frameworkId)) return;
    sorter.remove(frameworkId);
    this.syncRole(role);
  }

  /** Forgets the framework everywhere; its allocations must have been unallocated first. */
  removeFramework(frameworkId: string): void {
    for (const [role, sorter] of [...this.frameworkSorters]) {
      if (!sorter.has(frameworkId)) continue;
      assert(sorter.holdsNothing(frameworkId), `shares: ${frameworkId} still holds resources in ${role}`);
      sorter.remove(frameworkId);
      this.syncRole(role);
    }
  }

  allocated(frameworkId: string, role: string, quantities: Milli): void {
    this.sorter(role).allocatedMilli(frameworkId, quantities);
    this.roleSorter.allocatedMilli(role, quantities);
  }

  unallocated(frameworkId: string, role: string, quantities: Milli): void {
    this.sorter(role).unallocatedMilli(frameworkId, quantities);
    this.roleSorter.unallocatedMilli(role, quantities);
  }

  /** What the framework holds in the role, in thousandths (empty when it is not there). */
  allocation(frameworkId: string, role: string): Quantities {
    const sorter = this.frameworkSorters.get(role);
    return sorter?.has(frameworkId) === true ? sorter.allocation(frameworkId) : new Map();
  }

  /** Roles the framework is in, competing or not. */
  rolesOf(frameworkId: string): string[] {
    return [...this.frameworkSorters].filter(([, sorter]) => sorter.has(frameworkId)).map(([role]) => role);
  }

  /** Roles with frameworks (subscribed or holding resources). */
  roles(): string[] {
    return [...this.frameworkSorters.keys()];
  }

  frameworkShare(frameworkId: string, role: string): number {
    this.flushTotal();
    const sorter = this.frameworkSorters.get(role);
    return sorter?.has(frameworkId) === true ? sorter.share(frameworkId) : 0;
  }

  /** The role's subtree over the cluster, divided by its weight. */
  roleShare(role: string): number {
    this.flushTotal();
    return this.roleSorter.share(role);
  }

  /** Max over scalars of held / total, for quantities summed by the caller. */
  dominantShare(quantities: Quantities): number {
    return dominantShare(this.slots.fromMap(quantities), this.total, this.excludedSlots);
  }

  private sorter(role: string): DrfSorter {
    const sorter = this.frameworkSorters.get(role);
    if (!(sorter !== undefined)) throw new BugIndicatingError(`shares: unknown role ${role}`);
    return sorter;
  }

  /** Totals change with every agent added; sorters re-sort once, at the next look. */
  private flushTotal(): void {
    if (!this.totalChanged) return;
    this.roleSorter.updateTotalMilli(this.total);
    for (const sorter of this.frameworkSorters.values()) sorter.updateTotalMilli(this.total);
    this.totalChanged = false;
  }

  /** A role is in the order while one of its frameworks competes; it is forgotten when it has none. */
  private syncRole(role: string): void {
    const sorter = this.frameworkSorters.get(role)!;
    if (sorter.size() === 0) {
      assert(this.roleSorter.holdsNothing(role), `shares: role ${role} has no frameworks but holds resources`);
      this.frameworkSorters.delete(role);
      this.roleSorter.setActive(role, false);
      this.roleSorter.remove(role);
    } else {
      this.roleSorter.setActive(role, sorter.activeCount() > 0);
    }
  }
}
