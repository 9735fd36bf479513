import { describe, expect, it } from 'vitest';
import { meetsMinimum, parseMinAllocatable, toMilliRules } from './allocatable.js';

describe('min allocatable', () => {
  it('parses alternatives (|) of quantities (;)', () => {
    expect(parseMinAllocatable('cpus:0.01|mem:32')).toEqual([{ cpus: 0.01 }, { mem: 32 }]);
    expect(parseMinAllocatable('cpus:1;mem:64 | gpus:1')).toEqual([{ cpus: 1, mem: 64 }, { gpus: 1 }]);
  });

  it.each([
    ['cpus', '"cpus": expected name:quantity'],
    ['cpus:-1', '"cpus:-1": expected name:quantity'],
    ['cpus:1||mem:32', 'an alternative between "|" is empty'],
  ])('refuses %j', (text, error) => {
    const result = parseMinAllocatable(text);
    expect('error' in result && result.error).toContain(error);
  });

  it('is met by any one alternative in full', () => {
    const rules = toMilliRules([{ cpus: 1, mem: 64 }, { gpus: 1 }]);
    const q = (units: Record<string, number>): Map<string, number> => new Map(Object.entries(units).map(([k, v]) => [k, v * 1000]));
    expect(meetsMinimum(q({ cpus: 1, mem: 64 }), rules)).toBe(true);
    expect(meetsMinimum(q({ cpus: 4, mem: 32 }), rules)).toBe(false);
    expect(meetsMinimum(q({ gpus: 1 }), rules)).toBe(true);
    expect(meetsMinimum(q({}), toMilliRules([]))).toBe(true);
  });
});
