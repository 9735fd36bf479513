/**
 * Agent attributes (facts 6.1): parsing "rack:abc;zone:west;level:10;keys:[1000-1500]" and the
 * {name: value} shape /state shows. Scalars, ranges or text; sets are not given by flag.
 */
import type { Attribute } from '../api/index.js';
import { type Interval, formatRanges, formatSet, normalizeRanges, SCALAR_TEXT } from './values.js';

function parseOne(item: string): Attribute | { error: string } {
  const colon = item.indexOf(':');
  if (colon < 0) return { error: `"${item}": expected name:value, e.g. "rack:r1"` };
  const name = item.slice(0, colon).trim();
  const value = item.slice(colon + 1).trim();
  if (name === '') return { error: `"${item}": the attribute name is missing` };
  if (value === '') return { error: `"${item}": the value is missing; write e.g. "${name}:abc"` };
  if (value.startsWith('[')) {
    const inner = /^\[(.*)\]$/.exec(value)?.[1];
    if (inner === undefined) return { error: `"${item}": ranges must end with "]"; write e.g. "${name}:[1000-1500]"` };
    const list: Interval[] = [];
    for (const part of inner.trim() === '' ? [] : inner.split(',')) {
      const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
      if (match === null) return { error: `"${item}": "${part.trim()}" is not a range; write begin-end, e.g. "[1000-1500]"` };
      const begin = Number(match[1]);
      const end = Number(match[2]);
      if (begin > end) return { error: `"${item}": range ${begin}-${end} has begin greater than end` };
      list.push([begin, end]);
    }
    return { name, type: 'RANGES', ranges: { range: normalizeRanges(list).map(([begin, end]) => ({ begin, end })) } };
  }
  if (value.startsWith('{')) return { error: `"${item}": set attributes are not supported; use text or ranges` };
  if (SCALAR_TEXT.test(value) || (value.startsWith('-') && SCALAR_TEXT.test(value.slice(1)))) {
    return { name, type: 'SCALAR', scalar: { value: Number(value) } };
  }
  return { name, type: 'TEXT', text: { value } };
}

/** Attributes text to wire Attributes, in the order given (selectors pick the first of a name). */
export function parseAttributes(text: string): Attribute[] | { error: string } {
  const out: Attribute[] = [];
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const attribute = parseOne(item);
    if ('error' in attribute) return attribute;
    out.push(attribute);
  }
  return out;
}

/** {name: value} as Mesos's /state prints attributes: numbers, "[a-b, c-d]", "{a, b}" or text. */
export function attributesSummary(list: readonly Attribute[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const a of list) {
    switch (a.type) {
      case 'SCALAR':
        out[a.name] = a.scalar?.value ?? 0;
        break;
      case 'RANGES':
        out[a.name] = formatRanges((a.ranges?.range ?? []).map((r) => [r.begin, r.end] as const), ', ');
        break;
      case 'SET':
        out[a.name] = formatSet(a.set?.item ?? [], ', ');
        break;
      case 'TEXT':
        out[a.name] = a.text?.value ?? '';
        break;
    }
  }
  return out;
}
