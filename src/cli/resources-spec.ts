/**
 * What a framework needs of resource arithmetic, on wire Resources: read "cpus:0.1;mem:32" into
 * them, and tell whether an offer holds them and, if not, what it lacks. Built on src/resources.
 */
import type { Resource } from '../api/index.js';
import { Resources } from '../resources/index.js';

/** Parses Mesos's `--resources` text (or a JSON array of Resource) for a task. */
export function parseResourceSpec(text: string): Resource[] | { error: string } {
  const parsed = Resources.parse(text);
  if ('error' in parsed) return parsed;
  if (parsed.isEmpty()) return { error: `"${text}" names no resources; write e.g. "cpus:0.1;mem:32"` };
  if (parsed.hasReservations()) {
    return { error: `"${text}" asks for reserved resources; a task's resources are unreserved here, e.g. "cpus:0.1;mem:32"` };
  }
  return parsed.toWire();
}

/** What `offered` lacks to hold `wanted`, one text per missing resource name; empty when it fits. */
export function shortfall(wanted: readonly Resource[], offered: readonly Resource[]): string[] {
  const have = Resources.fromWire(offered).unallocated();
  const missing: string[] = [];
  for (const name of new Set(wanted.map((r) => r.name))) {
    const need = Resources.fromWire(wanted.filter((r) => r.name === name));
    if (have.contains(need)) continue;
    const got = Resources.fromWire(offered.filter((r) => r.name === name)).unallocated();
    const isScalar = wanted.some((r) => r.name === name && r.type === 'SCALAR');
    missing.push(
      isScalar
        ? `${name}: asked ${need.scalar(name)}, offered ${got.scalar(name)}`
        : `${name}: ${need.toString().slice(name.length + 1)} not in ${got.isEmpty() ? 'none' : got.toString().slice(name.length + 1)}`,
    );
  }
  return missing;
}

/** "cpus:4;mem:1024;ports:[31000-32000]", as Mesos prints resources. */
export function formatResources(resources: readonly Resource[]): string {
  return Resources.fromWire(resources).unallocated().toString();
}

/** Scalar amount of `name` in a list, 0 if absent. */
export function scalarOf(resources: readonly Resource[], name: string): number {
  return Resources.fromWire(resources).scalar(name);
}
