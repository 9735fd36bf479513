/**
 * Hash-consing of Resources: equal values handed in come back as one shared instance. Agents
 * of a cluster are mostly alike (same machine type, same --resources), so their totals collapse
 * to a few objects: memory per agent drops, and the memos on those objects (splits per role,
 * allocated forms per role) serve every agent alike, so an allocation cycle builds nothing
 * for a free agent and reads objects that stay in cache.
 */
import { Resources } from './resources.js';

export class ResourcesInterner {
  private readonly table = new Map<string, Resources>();

  /** At most `max` distinct values are kept; past that the table starts over (sharing is lost, never correctness). */
  constructor(private readonly max = 4096) {}

  intern(resources: Resources): Resources {
    if (resources.isEmpty()) return resources;
    const key = resources.internKey();
    const known = this.table.get(key);
    if (known !== undefined) return known;
    if (this.table.size >= this.max) this.table.clear();
    resources.markShared();
    this.table.set(key, resources);
    return resources;
  }

  get size(): number {
    return this.table.size;
  }
}
