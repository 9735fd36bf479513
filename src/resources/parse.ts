/**
 * Parses Mesos --resources text ("cpus:2;mem:1024;ports:[31000-32000];bugs(role):{a,b}" or a
 * JSON array of Resource) into wire resources. Errors name the bad part and the fix.
 */
import { z } from 'zod';
import { Resource, describeIssues, parseJsonLenient } from '../api/index.js';
import { DEFAULT_ROLE, validateRole } from './roles.js';
import { SCALAR_TEXT } from './values.js';

export const KNOWN_RESOURCE_NAMES = ['cpus', 'gpus', 'mem', 'disk', 'ports'] as const;

const ALIASES: Record<string, string> = { cpu: 'cpus', cores: 'cpus', memory: 'mem', gpu: 'gpus', port: 'ports' };

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The well-known name `name` was probably meant to be, or undefined. Custom resource names are
 * legal, so only near-misses count: a case slip, a known alias, or one letter off an all-letter
 * name ("cpu", "mems", "CPUS"); "disk2" or "fpgas" stay custom resources.
 */
export function suggestResourceName(name: string): string | undefined {
  if ((KNOWN_RESOURCE_NAMES as readonly string[]).includes(name)) return undefined;
  const lower = name.toLowerCase();
  if ((KNOWN_RESOURCE_NAMES as readonly string[]).includes(lower)) return lower;
  if (ALIASES[lower] !== undefined) return ALIASES[lower];
  if (!/^[a-z]+$/.test(lower)) return undefined;
  return KNOWN_RESOURCE_NAMES.find((known) => editDistance(lower, known) <= 1);
}

type ParsedValue = Pick<Resource, 'type' | 'scalar' | 'ranges' | 'set'>;

function parseValue(item: string, name: string, text: string): ParsedValue | { error: string } {
  const bad = (why: string): { error: string } => ({ error: `"${item}": ${why}` });
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) return bad('ranges must end with "]"; write e.g. "ports:[31000-32000]"');
    const inner = text.slice(1, -1).trim();
    const range: { begin: number; end: number }[] = [];
    for (const part of inner === '' ? [] : inner.split(',')) {
      const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
      if (match === null) return bad(`"${part.trim()}" is not a range; write each range as begin-end, e.g. "[31000-32000,33000-34000]"`);
      const begin = Number(match[1]);
      const end = Number(match[2]);
      if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) return bad(`range "${part.trim()}" is too large`);
      if (begin > end) return bad(`range ${begin}-${end} has begin greater than end; write it as ${end}-${begin}`);
      range.push({ begin, end });
    }
    return { type: 'RANGES', ranges: { range } };
  }
  if (text.startsWith('{')) {
    if (!text.endsWith('}')) return bad('a set must end with "}"; write e.g. "bugs:{a,b,c}"');
    const items = text.slice(1, -1).split(',').map((s) => s.trim());
    if (items.some((s) => s === '') && !(items.length === 1 && items[0] === '')) {
      return bad('a set item is empty; separate items with single commas, e.g. "{a,b,c}"');
    }
    return { type: 'SET', set: { item: items.filter((s) => s !== '') } };
  }
  if (text.startsWith('-') && SCALAR_TEXT.test(text.slice(1))) return bad(`a quantity must not be negative; write 0 or more, e.g. "${name}:1"`);
  if (!SCALAR_TEXT.test(text.replace(/^\+/, ''))) {
    return bad(`"${text}" is not a number, a range list "[b-e,...]" or a set "{a,b}"; write e.g. "${name}:2"`);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) return bad(`"${text}" is too large`);
  if (name === 'gpus' && !Number.isInteger(value)) {
    return bad(`gpus must be a whole number; write e.g. "gpus:${Math.max(1, Math.round(value))}"`);
  }
  return { type: 'SCALAR', scalar: { value } };
}

function reservationTo(role: string | undefined): Partial<Resource> {
  return role === undefined || role === DEFAULT_ROLE ? {} : { reservations: [{ type: 'STATIC', role }] };
}

function parseJsonList(text: string, defaultRole: string | undefined): { resources: Resource[] } | { error: string } {
  let json: unknown;
  try {
    json = parseJsonLenient(text);
  } catch (err) {
    return { error: `resources look like JSON but do not parse: ${(err as Error).message}` };
  }
  const result = z.array(Resource).safeParse(json);
  if (!result.success) return { error: describeIssues(result.error, 'resources') };
  // As Mesos: the default role applies to entries that name no role or reservation.
  const resources = result.data.map((r) =>
    r.role === undefined && r.reservation === undefined && (r.reservations ?? []).length === 0
      ? { ...r, ...reservationTo(defaultRole) }
      : r,
  );
  for (const r of resources) {
    if (r.name === 'gpus' && r.type === 'SCALAR' && !Number.isInteger(r.scalar?.value ?? 0)) {
      return { error: `"gpus": gpus must be a whole number, not ${r.scalar?.value}` };
    }
  }
  return { resources };
}

/** Text (or JSON) to wire resources, with `defaultRole` (agent --default_role) for items without a role. */
export function parseResourceText(text: string, defaultRole?: string): { resources: Resource[] } | { error: string } {
  if (defaultRole !== undefined) {
    const invalid = validateRole(defaultRole);
    if (invalid !== undefined) return { error: `default role: ${invalid}` };
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('file://')) {
    return { error: `"${trimmed}": read the file and pass its contents; resources parsing does no I/O` };
  }
  if (trimmed.startsWith('[')) return parseJsonList(trimmed, defaultRole);

  const resources: Resource[] = [];
  const typeOf = new Map<string, { type: string; item: string }>();
  for (const raw of trimmed.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const match = /^([^():]+?)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$/.exec(item);
    if (match === null) return { error: `"${item}": expected name:value or name(role):value, e.g. "cpus:2" or "cpus(eng):2"` };
    const name = match[1]!.trim();
    const role = match[2]?.trim();
    const valueText = match[3]!.trim();
    const suggestion = suggestResourceName(name);
    if (suggestion !== undefined) {
      return { error: `"${item}": "${name}" is not a known resource name; did you mean "${suggestion}"?` };
    }
    if (/\s/.test(name)) return { error: `"${item}": resource name "${name}" must not contain whitespace` };
    if (role !== undefined) {
      const invalid = validateRole(role);
      if (invalid !== undefined) return { error: `"${item}": ${invalid}` };
    }
    if (valueText === '') return { error: `"${item}": the value is missing; write e.g. "${name}:2"` };
    const value = parseValue(item, name, valueText);
    if ('error' in value) return value;
    const seen = typeOf.get(name);
    if (seen !== undefined && seen.type !== value.type) {
      return { error: `"${item}": "${name}" is a ${seen.type} in "${seen.item}" but a ${value.type} here; a resource name has one type` };
    }
    typeOf.set(name, { type: value.type, item });
    resources.push({ name, ...value, ...reservationTo(role ?? defaultRole) });
  }
  return { resources };
}
