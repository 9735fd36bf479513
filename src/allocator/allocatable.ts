/**
 * The allocatable minimum (--min_allocatable_resources): resources below it are not offered.
 * Alternatives are OR-ed ("|"), quantities within one alternative AND-ed (";").
 */
import { type Milli, type Quantities, type ScalarSlots, milliAt } from './scalars.js';

/** e.g. [{cpus: 0.01}, {mem: 32}]: at least 0.01 cpus, or at least 32 MB of mem. */
export type MinAllocatable = readonly Readonly<Record<string, number>>[];

/** Mesos's default, "cpus:0.01|mem:32". */
export const DEFAULT_MIN_ALLOCATABLE: MinAllocatable = [{ cpus: 0.01 }, { mem: 32 }];

/** Parses the flag text "cpus:0.01|mem:32" or "cpus:1;mem:64|gpus:1". */
export function parseMinAllocatable(text: string): MinAllocatable | { error: string } {
  const out: Record<string, number>[] = [];
  for (const alternative of text.split('|')) {
    const quantities: Record<string, number> = {};
    for (const raw of alternative.split(';')) {
      const item = raw.trim();
      if (item === '') continue;
      const match = /^([^:\s]+)\s*:\s*(\d+(?:\.\d*)?|\.\d+)$/.exec(item);
      if (match === null) return { error: `"${item}": expected name:quantity, e.g. "cpus:0.01|mem:32"` };
      quantities[match[1]!] = Number(match[2]);
    }
    if (Object.keys(quantities).length === 0) return { error: `"${text}": an alternative between "|" is empty` };
    out.push(quantities);
  }
  return out;
}

/** Thousandths, as the quantities the check compares against are kept. */
export type MinAllocatableMilli = readonly (readonly [name: string, milli: number][])[];

export function toMilliRules(min: MinAllocatable): MinAllocatableMilli {
  return min.map((alt) => Object.entries(alt).map(([name, q]) => [name, Math.round(q * 1000)] as const));
}

/** An empty rule list allows anything non-empty (the caller checks emptiness). */
export function meetsMinimum(quantities: Quantities, rules: MinAllocatableMilli): boolean {
  if (rules.length === 0) return true;
  // Plain loops: this runs for every (agent, role) in a cycle.
  for (const alternative of rules) {
    let met = true;
    for (const [name, milli] of alternative) {
      if ((quantities.get(name) ?? 0) < milli) {
        met = false;
        break;
      }
    }
    if (met) return true;
  }
  return false;
}

/** The rules with names as slots, for the cycle's vectors. */
export type MinAllocatableBySlot = readonly (readonly (readonly [slot: number, milli: number])[])[];

export function toSlotRules(rules: MinAllocatableMilli, slots: ScalarSlots): MinAllocatableBySlot {
  return rules.map((alternative) => alternative.map(([name, milli]) => [slots.slotOf(name), milli] as const));
}

/** meetsMinimum over a vector by slot (ScalarSlots.of an offer). */
export function meetsMinimumMilli(quantities: Milli, rules: MinAllocatableBySlot): boolean {
  if (rules.length === 0) return true;
  for (let a = 0; a < rules.length; a++) {
    const alternative = rules[a]!;
    let met = true;
    for (let i = 0; i < alternative.length; i++) {
      const rule = alternative[i]!;
      if (milliAt(quantities, rule[0]) < rule[1]) {
        met = false;
        break;
      }
    }
    if (met) return true;
  }
  return false;
}
