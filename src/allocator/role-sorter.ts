/**
 * "Which role goes next", level by level in the role tree (facts 6.4): at each node, its
 * children and its own frameworks are ordered by weighted dominant share, where a child's
 * allocation includes all of its descendants'. Quantities and order only, like DrfSorter.
 */
import { BugIndicatingError, assert } from '../base/index.js';
import type { Quantities } from './sorter.js';

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
  /** What the role's own frameworks hold; `subtree` adds every descendant's. Thousandths. */
  readonly ownAllocation: Map<string, number>;
  readonly subtreeAllocation: Map<string, number>;
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
  private total: Quantities = new Map();
  /** Shares are out of date (the total changed): recompute and re-sort at the next look. */
  private stale = false;
  private sorted: string[] | undefined;

  constructor(
    private readonly excludedNames: ReadonlySet<string> = new Set(),
    private readonly weightOf: (role: string) => number = () => 1,
  ) {
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
    assert(node.ownAllocation.size === 0, `role sorter: ${role} still holds resources`);
    node.client = false;
    while (node !== undefined && node !== this.root && node.children.size === 0 && !node.client) {
      assert(node.subtreeAllocation.size === 0, `role sorter: ${node.path} still holds resources`);
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
    this.sorted = undefined;
  }

  isActive(role: string): boolean {
    return this.nodes.get(role)?.active === true;
  }

  /** Roles that were given a weight keep it here; re-read through weightOf when it changes. */
  weightChanged(role: string): void {
    const node = this.nodes.get(role);
    if (node === undefined) return;
    this.move(node, () => {
      node.weight = this.weightOf(role);
    });
  }

  allocated(role: string, quantities: Quantities): void {
    this.change(role, quantities, 1);
  }

  unallocated(role: string, quantities: Quantities): void {
    this.change(role, quantities, -1);
  }

  updateTotal(total: Quantities): void {
    this.total = new Map(total);
    this.stale = true;
    this.sorted = undefined;
  }

  /** Active roles, depth first with siblings in share order. A cached view: do not hold it across a mutation. */
  sort(): readonly string[] {
    this.refresh();
    if (this.sorted === undefined) {
      const out: string[] = [];
      collect(this.root, out);
      this.sorted = out;
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
    return this.nodes.get(role)?.ownAllocation ?? new Map();
  }

  /** What the role and its descendants hold, in thousandths. */
  subtreeAllocation(role: string): Quantities {
    return this.nodes.get(role)?.subtreeAllocation ?? new Map();
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
      ownAllocation: new Map(),
      subtreeAllocation: new Map(),
      client: false,
      active: false,
      activeBelow: 0,
      order: [],
    } as unknown as { -readonly [K in keyof RoleNode]: RoleNode[K] };
    node.ownSlot = { node: node as RoleNode, own: true, share: 0, listed: false };
    node.subtreeSlot = { node: node as RoleNode, own: false, share: 0, listed: false };
    return node as RoleNode;
  }

  private change(role: string, quantities: Quantities, sign: 1 | -1): void {
    const node = this.node(role, sign > 0);
    this.move(node, () => {
      addInto(node.ownAllocation, quantities, sign, role);
      for (let n: RoleNode | undefined = node; n !== undefined; n = n.parent) addInto(n.subtreeAllocation, quantities, sign, n.path);
    });
  }

  /**
   * Applies a change to the node's allocation or weight and re-places every slot it moves: its
   * own among its children, and its subtree's and each ancestor's among their siblings.
   */
  private move(node: RoleNode, change: () => void): void {
    this.sorted = undefined;
    if (this.stale) {
      change();
      return;
    }
    // Out first, while every share still says where its slot is; back in with the new shares.
    if (node.ownSlot.listed) this.unlist(node.ownSlot, node);
    for (let n = node; n !== this.root; n = n.parent!) if (n.subtreeSlot.listed) this.unlist(n.subtreeSlot, n.parent!);
    change();
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
    else parent.order.splice(lowerBound(parent.order, slot), 0, slot);
  }

  private unlist(slot: Slot, parent: RoleNode): void {
    // While shares are current, a slot sits where its share says: found by binary search.
    const i = this.stale ? parent.order.indexOf(slot) : lowerBound(parent.order, slot);
    if (!(parent.order[i] === slot)) throw new BugIndicatingError(`role sorter: ${slot.node.path} is not where its share says`);
    parent.order.splice(i, 1);
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
    this.sorted = undefined;
  }

  private slotShare(slot: Slot): number {
    return this.shareOf(slot.own ? slot.node.ownAllocation : slot.node.subtreeAllocation, slot.node.weight);
  }

  private shareOf(allocation: Quantities, weight: number): number {
    let dominant = 0;
    for (const [name, milli] of allocation) {
      const total = this.total.get(name);
      if (total === undefined || total <= 0 || this.excludedNames.has(name)) continue;
      const share = milli / total;
      if (share > dominant) dominant = share;
    }
    return dominant / weight;
  }
}

/** Depth first, each level in its order: a role's own frameworks where its own slot sorts. */
function collect(node: RoleNode, out: string[]): void {
  for (const slot of node.order) {
    if (slot.own) out.push(slot.node.path);
    else collect(slot.node, out);
  }
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

function addInto(into: Map<string, number>, quantities: Quantities, sign: 1 | -1, who: string): void {
  for (const [name, milli] of quantities) {
    const sum = (into.get(name) ?? 0) + sign * milli;
    if (!(sum >= 0)) throw new BugIndicatingError(`role sorter: ${who || 'the cluster'} would hold ${sum / 1000} ${name}`);
    if (sum === 0) into.delete(name);
    else into.set(name, sum);
  }
}
