/**
 * "Who goes next": orders clients (roles, or frameworks within a role) by weighted dominant
 * share, as Mesos's DRFSorter. Knows quantities only; which resources go where is the allocator's.
 */
import { BugIndicatingError, assert } from '../base/index.js';
import { type Milli, type Quantities, ScalarSlots, addMilli, dominantShare, isZero, negativeError, negativeSlot } from './scalars.js';

export type { Quantities } from './scalars.js';

/** The policy seam: a random sorter or a hierarchical one implements the same interface. */
export interface Sorter {
  add(client: string, weight?: number): void;
  /** Forgets the client and its allocation. */
  remove(client: string): void;
  has(client: string): boolean;
  /** Only active clients are in sort(); inactive ones keep their allocation (it still counts). */
  activate(client: string): void;
  deactivate(client: string): void;
  isActive(client: string): boolean;
  activeCount(): number;
  /** Clients, active or not. */
  size(): number;
  updateWeight(client: string, weight: number): void;
  allocated(client: string, quantities: Quantities): void;
  unallocated(client: string, quantities: Quantities): void;
  /** The pool shares are measured against (the whole cluster). */
  updateTotal(total: Quantities): void;
  /** Active clients, lowest share first, ties by id. A live view: do not hold it across a mutation. */
  sort(): readonly string[];
  share(client: string): number;
  allocation(client: string): Quantities;
}

interface Client {
  readonly id: string;
  weight: number;
  active: boolean;
  /** What the client holds, in thousandths by slot. */
  held: Milli;
  share: number;
}

function before(a: Client, b: Client): boolean {
  return a.share < b.share || (a.share === b.share && a.id < b.id);
}

/**
 * Dominant Resource Fairness: share = max over scalar names of allocated/total, over weight.
 * Keeps active clients in a sorted array; an allocation moves one client by binary search, so
 * a cycle re-sorts nothing (a full sort happens only when the total or weights change).
 * Quantities are typed arrays by slot (scalars.ts); the Map methods convert, for callers and tests.
 */
export class DrfSorter implements Sorter {
  private readonly clients = new Map<string, Client>();
  // Active clients in order, and their ids in the same order (what sort() hands out).
  private readonly order: Client[] = [];
  private readonly ids: string[] = [];
  private stale = false;
  private total: Milli;
  private readonly excluded: Uint8Array;

  constructor(
    excludedNames: ReadonlySet<string> = new Set(),
    private readonly slots: ScalarSlots = new ScalarSlots(),
  ) {
    this.excluded = slots.mask(excludedNames);
    this.total = slots.zeros();
  }

  add(client: string, weight = 1): void {
    assert(!this.clients.has(client), `sorter: client ${client} added twice`);
    assert(weight > 0, `sorter: weight of ${client} must be positive, got ${weight}`);
    const c: Client = { id: client, weight, active: true, held: this.slots.zeros(), share: 0 };
    this.clients.set(client, c);
    this.insert(c);
  }

  remove(client: string): void {
    const c = this.get(client);
    if (c.active) this.extract(c);
    this.clients.delete(client);
  }

  has(client: string): boolean {
    return this.clients.has(client);
  }

  activate(client: string): void {
    const c = this.get(client);
    if (c.active) return;
    c.active = true;
    this.insert(c);
  }

  deactivate(client: string): void {
    const c = this.get(client);
    if (!c.active) return;
    this.extract(c);
    c.active = false;
  }

  isActive(client: string): boolean {
    return this.get(client).active;
  }

  activeCount(): number {
    return this.order.length;
  }

  size(): number {
    return this.clients.size;
  }

  updateWeight(client: string, weight: number): void {
    assert(weight > 0, `sorter: weight of ${client} must be positive, got ${weight}`);
    const c = this.get(client);
    const listed = this.unlistForChange(c);
    c.weight = weight;
    this.relistAfterChange(c, listed);
  }

  allocated(client: string, quantities: Quantities): void {
    this.allocatedMilli(client, this.slots.fromMap(quantities));
  }

  unallocated(client: string, quantities: Quantities): void {
    this.unallocatedMilli(client, this.slots.fromMap(quantities));
  }

  /** allocated() for a vector by slot (the allocator's hot path). */
  allocatedMilli(client: string, quantities: Milli): void {
    const c = this.get(client);
    const listed = this.unlistForChange(c);
    c.held = addMilli(c.held, quantities, 1);
    this.relistAfterChange(c, listed);
  }

  unallocatedMilli(client: string, quantities: Milli): void {
    const c = this.get(client);
    const listed = this.unlistForChange(c);
    c.held = addMilli(c.held, quantities, -1);
    const bad = negativeSlot(c.held);
    if (bad >= 0) throw negativeError(`sorter: ${client}`, c.held, bad, this.slots);
    this.relistAfterChange(c, listed);
  }

  updateTotal(total: Quantities): void {
    this.updateTotalMilli(this.slots.fromMap(total));
  }

  /** Takes a copy: the caller's total may move on before this sorter re-sorts. */
  updateTotalMilli(total: Milli): void {
    this.total = total.slice();
    this.stale = true;
  }

  sort(): readonly string[] {
    if (this.stale) {
      for (const c of this.clients.values()) c.share = this.computeShare(c);
      this.order.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
      for (let i = 0; i < this.order.length; i++) this.ids[i] = this.order[i]!.id;
      this.stale = false;
    }
    return this.ids;
  }

  share(client: string): number {
    const c = this.get(client);
    return this.stale ? this.computeShare(c) : c.share;
  }

  allocation(client: string): Quantities {
    return this.slots.toMap(this.get(client).held);
  }

  /** Whether the client holds nothing (it may be forgotten). */
  holdsNothing(client: string): boolean {
    return isZero(this.get(client).held);
  }

  private get(client: string): Client {
    const c = this.clients.get(client);
    if (!(c !== undefined)) throw new BugIndicatingError(`sorter: unknown client ${client}`);
    return c;
  }

  private computeShare(c: Client): number {
    return dominantShare(c.held, this.total, this.excluded) / c.weight;
  }

  /**
   * Before a change to a client's allocation or weight: takes it out of the order while its share
   * still says where it is. Returns whether it must go back in (relistAfterChange).
   */
  private unlistForChange(c: Client): boolean {
    if (this.stale || !c.active) return false;
    this.extract(c);
    return true;
  }

  private relistAfterChange(c: Client, listed: boolean): void {
    if (listed) this.insert(c);
    else if (!this.stale) c.share = this.computeShare(c);
  }

  private lowerBound(c: Client): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.order[mid]!, c)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(c: Client): void {
    if (this.stale) {
      this.order.push(c);
      this.ids.push(c.id);
      return;
    }
    c.share = this.computeShare(c);
    const i = this.lowerBound(c);
    insertAt(this.order, i, c);
    insertAt(this.ids, i, c.id);
  }

  private extract(c: Client): void {
    const i = this.stale ? this.order.indexOf(c) : this.lowerBound(c);
    if (!(this.order[i] === c)) throw new BugIndicatingError(`sorter: ${c.id} is not where its share says`);
    removeAt(this.order, i);
    removeAt(this.ids, i);
  }
}

/** Array.splice without the array of removed items it makes: the cycle moves clients a lot. */
export function insertAt<T>(list: T[], i: number, item: T): void {
  list.push(item);
  for (let j = list.length - 1; j > i; j--) list[j] = list[j - 1]!;
  list[i] = item;
}

export function removeAt<T>(list: T[], i: number): void {
  for (let j = i; j < list.length - 1; j++) list[j] = list[j + 1]!;
  list.pop();
}
