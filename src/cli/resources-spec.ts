/**
 * The little resource arithmetic a framework needs: read "cpus:0.1;mem:32;ports:[31000-31001]"
 * into wire Resources, and tell whether an offer holds them (and if not, what it lacks). The
 * full Resources type lives in src/resources, which the CLI layer does not import.
 */
import type { Resource } from '../api/index.js';

export interface ResourceNeed {
  name: string;
  /** Scalar amount in thousandths (Mesos scalars are fixed-point with 3 decimals). */
  milli?: number;
  ranges?: Array<[number, number]>;
  set?: string[];
}

/** Parses Mesos's `--resources` text (or a JSON array of Resource). Returns an error text on failure. */
export function parseResourceSpec(text: string): Resource[] | { error: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed) as Resource[];
      if (!Array.isArray(parsed)) return { error: 'a JSON resource list must be an array' };
      return parsed;
    } catch (err) {
      return { error: `"${text}" is not valid JSON: ${(err as Error).message}` };
    }
  }
  const out: Resource[] = [];
  for (const part of trimmed.split(';')) {
    if (part.trim() === '') continue;
    const match = /^\s*([A-Za-z_][\w.-]*)\s*(?:\(([^)]*)\))?\s*:\s*(.+?)\s*$/.exec(part);
    if (match === null) return { error: `"${part}" is not NAME:VALUE; write e.g. "cpus:0.1;mem:32"` };
    const [, name, role, value] = match as unknown as [string, string, string | undefined, string];
    if (role !== undefined && role !== '*') {
      return { error: `"${part}": reserved resources (role "${role}") are not supported here; drop "(${role})"` };
    }
    if (name === 'cpu' || name === 'memory') {
      return { error: `"${name}" is not a resource name; did you mean "${name === 'cpu' ? 'cpus' : 'mem'}"?` };
    }
    if (value.startsWith('[')) {
      const ranges: Array<{ begin: number; end: number }> = [];
      const body = value.replace(/^\[|\]$/g, '');
      for (const r of body.split(',')) {
        const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(r);
        if (m === null || Number(m[1]) > Number(m[2])) {
          return { error: `"${part}": "${r.trim()}" is not a range; write e.g. [31000-31005]` };
        }
        ranges.push({ begin: Number(m[1]), end: Number(m[2]) });
      }
      out.push({ name, type: 'RANGES', ranges: { range: ranges } });
    } else if (value.startsWith('{')) {
      const items = value
        .replace(/^\{|\}$/g, '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      out.push({ name, type: 'SET', set: { item: items } });
    } else {
      const n = Number(value);
      if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
        return { error: `"${part}": "${value}" is not a non-negative number` };
      }
      out.push({ name, type: 'SCALAR', scalar: { value: Math.round(n * 1000) / 1000 } });
    }
  }
  if (out.length === 0) return { error: `"${text}" names no resources; write e.g. "cpus:0.1;mem:32"` };
  return out;
}

/** Sums a resource list per name: scalars added, ranges and sets merged. */
export function summarize(resources: readonly Resource[]): Map<string, ResourceNeed> {
  const byName = new Map<string, ResourceNeed>();
  for (const r of resources) {
    const entry = byName.get(r.name) ?? { name: r.name };
    if (r.type === 'SCALAR') entry.milli = (entry.milli ?? 0) + Math.round((r.scalar?.value ?? 0) * 1000);
    if (r.type === 'RANGES') {
      entry.ranges = [...(entry.ranges ?? []), ...(r.ranges?.range ?? []).map((x) => [x.begin, x.end] as [number, number])];
    }
    if (r.type === 'SET') entry.set = [...(entry.set ?? []), ...(r.set?.item ?? [])];
    byName.set(r.name, entry);
  }
  return byName;
}

/** What `offered` lacks to hold `wanted`, one text per missing resource; empty when it fits. */
export function shortfall(wanted: readonly Resource[], offered: readonly Resource[]): string[] {
  const have = summarize(offered);
  const missing: string[] = [];
  for (const need of summarize(wanted).values()) {
    const got = have.get(need.name);
    if (need.milli !== undefined && need.milli > (got?.milli ?? 0)) {
      missing.push(`${need.name}: asked ${need.milli / 1000}, offered ${(got?.milli ?? 0) / 1000}`);
    }
    for (const [begin, end] of need.ranges ?? []) {
      if (!rangesCover(got?.ranges ?? [], begin, end)) {
        missing.push(`${need.name}: [${begin}-${end}] not in ${formatRanges(got?.ranges ?? [])}`);
      }
    }
    const items = new Set(got?.set ?? []);
    const absent = (need.set ?? []).filter((i) => !items.has(i));
    if (absent.length > 0) missing.push(`${need.name}: {${absent.join(',')}} not offered`);
  }
  return missing;
}

function rangesCover(ranges: ReadonlyArray<[number, number]>, begin: number, end: number): boolean {
  // Ranges may be split across Resource entries; walk them in order and extend the covered prefix.
  let next = begin;
  for (const [b, e] of [...ranges].sort((x, y) => x[0] - y[0])) {
    if (b > next) break;
    if (e >= next) next = e + 1;
    if (next > end) return true;
  }
  return next > end;
}

function formatRanges(ranges: ReadonlyArray<[number, number]>): string {
  return ranges.length === 0 ? 'none' : `[${ranges.map(([b, e]) => `${b}-${e}`).join(',')}]`;
}

/** "cpus:4;mem:1024;ports:[31000-32000]", as Mesos prints resources. */
export function formatResources(resources: readonly Resource[]): string {
  return [...summarize(resources).values()]
    .map((r) => {
      if (r.milli !== undefined) return `${r.name}:${r.milli / 1000}`;
      if (r.ranges !== undefined) return `${r.name}:${formatRanges(r.ranges)}`;
      return `${r.name}:{${(r.set ?? []).join(',')}}`;
    })
    .join(';');
}

/** Scalar amount (not thousandths) of `name` in a list, 0 if absent. */
export function scalarOf(resources: readonly Resource[], name: string): number {
  return (summarize(resources).get(name)?.milli ?? 0) / 1000;
}
