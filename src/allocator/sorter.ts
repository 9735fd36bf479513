/**
 * "Who goes next": orders clients (roles, or frameworks within a role) by weighted dominant
 * share, as Mesos's DRFSorter. Knows quantities only; which resources go where is the allocator's.
 */
import { BugIndicatingError, assert } from '../base/index.js';

/** Scalar quantities in exact thousandths (Resources.scalarQuantitiesMilli()). */
export type Quantities = ReadonlyMap<string, number>;

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
  readonly allocation: Map<string, number>;
  share: number;
}

function before(a: Client, b: Client): boolean {
  return a.share < b.share || (a.share === b.share && a.id < b.id);
}

/**
 * Dominant Resource Fairness: share = max over scalar names of allocated/total, over weight.
 * Keeps active clients in a sorted array; an allocation moves one client by binary search, so
 * a cycle re-sorts nothing (a full sort happens only when the total or weights change).
 */
export class DrfSorter implements Sorter {
  private readonly clients = new Map<string, Client>();
  // Active clients in order, and their ids in the same order (what sort() hands out).
  private order: Client[] = [];
  private ids: string[] = [];
  private stale = false;
  private total: Quantities = new Map();

  constructor(private readonly excludedNames: ReadonlySet<string> = new Set()) {}

  add(client: string, weight = 1): void {
    assert(!this.clients.has(client), `sorter: client ${client} added twice`);
    assert(weight > 0, `sorter: weight of ${client} must be positive, got ${weight}`);
    const c: Client = { id: client, weight, active: true, allocation: new Map(), share: 0 };
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
    this.reposition(this.get(client), () => {
      this.get(client).weight = weight;
    });
  }

  allocated(client: string, quantities: Quantities): void {
    const c = this.get(client);
    this.reposition(c, () => {
      for (const [name, milli] of quantities) c.allocation.set(name, (c.allocation.get(name) ?? 0) + milli);
    });
  }

  unallocated(client: string, quantities: Quantities): void {
    const c = this.get(client);
    this.reposition(c, () => {
      for (const [name, milli] of quantities) {
        const left = (c.allocation.get(name) ?? 0) - milli;
        if (!(left >= 0)) throw new BugIndicatingError(`sorter: ${client} would hold ${left / 1000} ${name}`);
        if (left === 0) c.allocation.delete(name);
        else c.allocation.set(name, left);
      }
    });
  }

  updateTotal(total: Quantities): void {
    this.total = new Map(total);
    this.stale = true;
  }

  sort(): readonly string[] {
    if (this.stale) {
      for (const c of this.clients.values()) c.share = this.computeShare(c);
      this.order.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
      this.ids = this.order.map((c) => c.id);
      this.stale = false;
    }
    return this.ids;
  }

  share(client: string): number {
    const c = this.get(client);
    return this.stale ? this.computeShare(c) : c.share;
  }

  allocation(client: string): Quantities {
    return this.get(client).allocation;
  }

  private get(client: string): Client {
    const c = this.clients.get(client);
    if (!(c !== undefined)) throw new BugIndicatingError(`sorter: unknown client ${client}`);
    return c;
  }

  private computeShare(c: Client): number {
    let dominant = 0;
    for (const [name, milli] of c.allocation) {
      const total = this.total.get(name);
      if (total === undefined || total <= 0 || this.excludedNames.has(name)) continue;
      dominant = Math.max(dominant, milli / total);
    }
    return dominant / c.weight;
  }

  /** Applies a change to a client's allocation or weight and moves it to its new place. */
  private reposition(c: Client, change: () => void): void {
    if (this.stale || !c.active) {
      change();
      if (!this.stale) c.share = this.computeShare(c);
      return;
    }
    this.extract(c);
    change();
    this.insert(c);
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
    this.order.splice(i, 0, c);
    this.ids.splice(i, 0, c.id);
  }

  private extract(c: Client): void {
    const i = this.stale ? this.order.indexOf(c) : this.lowerBound(c);
    if (!(this.order[i] === c)) throw new BugIndicatingError(`sorter: ${c.id} is not where its share says`);
    this.order.splice(i, 1);
    this.ids.splice(i, 1);
  }
}
