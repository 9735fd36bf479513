/**
 * "Which role goes next", level by level in the role tree (facts 6.4): at each node, its
 * children and its own frameworks are ordered by weighted dominant share, where a child's
 * allocation includes all of its descendants'. Quantities and order only, like DrfSorter.
 */
import { BugIndicatingError, assert } from '../base/index.js';
import { type Milli, type Quantities, ScalarSlots, addMilli, dominantShare, isZero, negativeError, negativeSlot } from './scalars.js';
import { insertAt, removeAt } from './sorter.js';

/** One position among siblings: a subtree (a child role and all below it), or a role's own frameworks. */
interface Slot {
  readonly node: RoleNode;
  /** true: the role's own frameworks ("eng" itself); false: the subtree rooted at the role. */
  readonly own: boolean;
  share: number;
  /** Whether the slot is in its parent's `order` now. */
  listed: boolean;
}

interface RoleNode {
  readonly path: string;
  readonly parent: RoleNode | undefined;
  readonly children: Map<string, RoleNode>;
  weight: number;
  /** What the role's own frameworks hold; `subtree` adds every descendant's. Thousandths by slot. */
  ownAllocation: Milli;
  subtreeAllocation: Milli;
  /** The role has frameworks (it is more than an ancestor of roles that do). */
  client: boolean;
  /** The role's frameworks compete for offers now. */
  active: boolean;
  /** Active roles in this subtree, this one included. */
  activeBelow: number;
  /** Listed slots among this node's children and its own: the sorted level below it. */
  readonly order: Slot[];
  readonly ownSlot: Slot;
  readonly subtreeSlot: Slot;
}

function before(a: Slot, b: Slot): boolean {
  if (a.share !== b.share) return a.share < b.share;
  // Ties by role name; a role's own frameworks go before its children ("eng" < "eng/ml").
  if (a.node.path !== b.node.path) return a.node.path < b.node.path;
  return a.own && !b.own;
}

export class RoleSorter {
  private readonly root: RoleNode;
  private readonly nodes = new Map<string, RoleNode>();
  private total: Milli;
  private readonly excluded: Uint8Array;
  /** Shares are out of date (the total changed): recompute and re-sort at the next look. */
  private stale = false;
  /** The order sort() hands out; rebuilt in place when `sortedValid` is false. */
  private readonly sorted: string[] = [];
  private sortedValid = false;

  constructor(
    excludedNames: ReadonlySet<string> = new Set(),
    private readonly weightOf: (role: string) => number = () => 1,
    private readonly slots: ScalarSlots = new ScalarSlots(),
  ) {
    this.excluded = slots.mask(excludedNames);
    this.total = slots.zeros();
    this.root = this.newNode('', undefined);
  }

  has(role: string): boolean {
    return this.nodes.has(role);
  }

  /** Adds the role as a client (it has frameworks), and its ancestors; it starts inactive. */
  add(role: string): void {
    this.node(role, true).client = true;
  }

  /**
   * The role has no frameworks left: it stops being a client, and is forgotten with every
   * ancestor left without clients below it. It must hold nothing and be inactive.
   */
  remove(role: string): void {
    let node = this.nodes.get(role);
    assert(node !== undefined, `role sorter: unknown role ${role}`);
    assert(!node.active, `role sorter: ${role} is still active`);
    assert(isZero(node.ownAllocation), `role sorter: ${role} still holds resources`);
    node.client = false;
    while (node !== undefined && node !== this.root && node.children.size === 0 && !node.client) {
      assert(isZero(node.subtreeAllocation), `role sorter: ${node.path} still holds resources`);
      const parent: RoleNode = node.parent!;
      parent.children.delete(node.path);
      this.nodes.delete(node.path);
      node = parent;
    }
  }

  /** Only active roles are in sort(); inactive ones keep their allocation (it still counts above them). */
  setActive(role: string, active: boolean): void {
    const node = this.node(role, false);
    if (node.active === active) return;
    node.active = active;
    const delta = active ? 1 : -1;
    this.relist(node.ownSlot, node, active);
    for (let n = node; n !== this.root; n = n.parent!) {
      n.activeBelow += delta;
      this.relist(n.subtreeSlot, n.parent!, n.activeBelow > 0);
    }
    this.sortedValid = false;
  }

  isActive(role: string): boolean {
    return this.nodes.get(role)?.active === true;
  }

  /** Roles that were given a weight keep it here; re-read through weightOf when it changes. */
  weightChanged(role: string): void {
    const node = this.nodes.get(role);
    if (node === undefined) return;
    const moved = this.unlistPath(node);
    node.weight = this.weightOf(role);
    this.relistPath(node, moved);
  }

  allocated(role: string, quantities: Quantities): void {
    this.allocatedMilli(role, this.slots.fromMap(quantities));
  }

  unallocated(role: string, quantities: Quantities): void {
    this.unallocatedMilli(role, this.slots.fromMap(quantities));
  }

  /** allocated() for a vector by slot (the allocator's hot path). */
  allocatedMilli(role: string, quantities: Milli): void {
    this.change(this.node(role, true), quantities, 1);
  }

  unallocatedMilli(role: string, quantities: Milli): void {
    this.change(this.node(role, false), quantities, -1);
  }

  updateTotal(total: Quantities): void {
    this.updateTotalMilli(this.slots.fromMap(total));
  }

  /** Takes a copy: the caller's total may move on before this sorter re-sorts. */
  updateTotalMilli(total: Milli): void {
    this.total = total.slice();
    this.stale = true;
    this.sortedValid = false;
  }

  /**
   * Active roles, depth first with siblings in share order. A live view, rebuilt in place (the
   * cycle asks after every allocation; a new array each time was most of its garbage): copy it
   * to hold it across a mutation.
   */
  sort(): readonly string[] {
    this.refresh();
    if (!this.sortedValid) {
      // Written over by index: `length = 0` would let V8 free the store and grow it back.
      const count = collect(this.root, this.sorted, 0);
      if (count !== this.sorted.length) this.sorted.length = count;
      this.sortedValid = true;
    }
    return this.sorted;
  }

  /** Dominant share of the role and its descendants, over its weight (Mesos's shares/dominant). */
  share(role: string): number {
    const node = this.nodes.get(role);
    return node === undefined ? 0 : this.shareOf(node.subtreeAllocation, node.weight);
  }

  /** What the role's own frameworks hold, in thousandths. */
  ownAllocation(role: string): Quantities {
    const node = this.nodes.get(role);
    return node === undefined ? new Map() : this.slots.toMap(node.ownAllocation);
  }

  /** What the role and its descendants hold, in thousandths. */
  subtreeAllocation(role: string): Quantities {
    const node = this.nodes.get(role);
    return node === undefined ? new Map() : this.slots.toMap(node.subtreeAllocation);
  }

  /** Whether the role's own frameworks hold nothing. */
  holdsNothing(role: string): boolean {
    const node = this.nodes.get(role);
    return node === undefined || isZero(node.ownAllocation);
  }

  roles(): string[] {
    return [...this.nodes.keys()];
  }

  private node(role: string, create: boolean): RoleNode {
    const known = this.nodes.get(role);
    if (known !== undefined) return known;
    if (!(create)) throw new BugIndicatingError(`role sorter: unknown role ${role}`);
    const slash = role.lastIndexOf('/');
    const parent = slash < 0 ? this.root : this.node(role.slice(0, slash), true);
    const node = this.newNode(role, parent);
    parent.children.set(role, node);
    this.nodes.set(role, node);
    return node;
  }

  private newNode(path: string, parent: RoleNode | undefined): RoleNode {
    const node = {
      path,
      parent,
      children: new Map(),
      weight: path === '' ? 1 : this.weightOf(path),
      ownAllocation: this.slots.zeros(),
      subtreeAllocation: this.slots.zeros(),
      client: false,
      active: false,
      activeBelow: 0,
      order: [],
    } as unknown as { -readonly [K in keyof RoleNode]: RoleNode[K] };
    node.ownSlot = { node: node as RoleNode, own: true, share: 0, listed: false };
    node.subtreeSlot = { node: node as RoleNode, own: false, share: 0, listed: false };
    return node as RoleNode;
  }

  private change(node: RoleNode, quantities: Milli, sign: 1 | -1): void {
    const moved = this.unlistPath(node);
    node.ownAllocation = addMilli(node.ownAllocation, quantities, sign);
    this.assertNotNegative(node.ownAllocation, node.path);
    for (let n: RoleNode | undefined = node; n !== undefined; n = n.parent) {
      n.subtreeAllocation = addMilli(n.subtreeAllocation, quantities, sign);
      this.assertNotNegative(n.subtreeAllocation, n.path);
    }
    this.relistPath(node, moved);
  }

  /**
   * Before a change to the node's allocation or weight: takes out every slot it moves (its own
   * among its children, its subtree's and each ancestor's among their siblings) while every
   * share still says where its slot is. False when shares are stale (nothing is placed then).
   */
  private unlistPath(node: RoleNode): boolean {
    this.sortedValid = false;
    if (this.stale) return false;
    if (node.ownSlot.listed) this.unlist(node.ownSlot, node);
    for (let n = node; n !== this.root; n = n.parent!) if (n.subtreeSlot.listed) this.unlist(n.subtreeSlot, n.parent!);
    return true;
  }

  /** After the change: back in, with the new shares. */
  private relistPath(node: RoleNode, moved: boolean): void {
    if (!moved) return;
    node.ownSlot.share = this.slotShare(node.ownSlot);
    if (node.active) this.list(node.ownSlot, node);
    for (let n = node; n !== this.root; n = n.parent!) {
      n.subtreeSlot.share = this.slotShare(n.subtreeSlot);
      if (n.activeBelow > 0) this.list(n.subtreeSlot, n.parent!);
    }
  }

  private relist(slot: Slot, parent: RoleNode, wanted: boolean): void {
    if (slot.listed === wanted) return;
    if (wanted) {
      if (!this.stale) slot.share = this.slotShare(slot);
      this.list(slot, parent);
    } else {
      this.unlist(slot, parent);
    }
  }

  private list(slot: Slot, parent: RoleNode): void {
    slot.listed = true;
    if (this.stale) parent.order.push(slot);
    else insertAt(parent.order, lowerBound(parent.order, slot), slot);
  }

  private unlist(slot: Slot, parent: RoleNode): void {
    // While shares are current, a slot sits where its share says: found by binary search.
    const i = this.stale ? parent.order.indexOf(slot) : lowerBound(parent.order, slot);
    if (!(parent.order[i] === slot)) throw new BugIndicatingError(`role sorter: ${slot.node.path} is not where its share says`);
    removeAt(parent.order, i);
    slot.listed = false;
  }

  /** After the total changed: every share is recomputed and every level re-sorted, once. */
  private refresh(): void {
    if (!this.stale) return;
    this.stale = false;
    const visit = (node: RoleNode): void => {
      node.ownSlot.share = this.slotShare(node.ownSlot);
      node.subtreeSlot.share = this.slotShare(node.subtreeSlot);
      for (const child of node.children.values()) visit(child);
      node.order.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    };
    visit(this.root);
    this.sortedValid = false;
  }

  private assertNotNegative(v: Milli, path: string): void {
    const bad = negativeSlot(v);
    if (bad >= 0) throw negativeError(`role sorter: ${path || 'the cluster'}`, v, bad, this.slots);
  }

  private slotShare(slot: Slot): number {
    return this.shareOf(slot.own ? slot.node.ownAllocation : slot.node.subtreeAllocation, slot.node.weight);
  }

  private shareOf(allocation: Milli, weight: number): number {
    return dominantShare(allocation, this.total, this.excluded) / weight;
  }
}

/** Depth first, each level in its order: a role's own frameworks where its own slot sorts. */
function collect(node: RoleNode, out: string[], at: number): number {
  let i = at;
  for (const slot of node.order) {
    if (slot.own) out[i++] = slot.node.path;
    else i = collect(slot.node, out, i);
  }
  return i;
}

function lowerBound(order: readonly Slot[], slot: Slot): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(order[mid]!, slot)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

