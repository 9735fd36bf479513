import { describe, expect, it } from 'vitest';
import { Resources } from './resources.js';
import { ResourcesInterner } from './interner.js';

function parse(text: string): Resources {
  const parsed = Resources.parse(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

describe('ResourcesInterner', () => {
  it('hands back one instance for equal values, whatever order they were written in', () => {
    const interner = new ResourcesInterner();
    const a = interner.intern(parse('cpus:4;mem:1024;ports:[31000-32000];cpus(eng):1'));
    const b = interner.intern(parse('cpus(eng):1;ports:[31000-32000];mem:1024;cpus:4'));
    expect(b).toBe(a);
    expect(interner.size).toBe(1);
  });

  it('keeps values apart that differ in any part: quantity, ranges, reservation, allocation role, sets', () => {
    const interner = new ResourcesInterner();
    const texts = [
      'cpus:4;mem:1024',
      'cpus:4;mem:1025',
      'cpus:4;mem:1024;ports:[31000-31999]',
      'cpus:4;mem:1024;ports:[31000-32000]',
      'cpus(eng):4;mem:1024',
      'cpus(eng/web):4;mem:1024',
      'cpus:4;mem:1024;bugs:{a,b}',
      'cpus:4;mem:1024;bugs:{a}',
    ];
    const interned = texts.map((t) => interner.intern(parse(t)));
    expect(new Set(interned).size).toBe(texts.length);
    const offered = interner.intern(parse('cpus:4;mem:1024').allocatedTo('eng'));
    expect(offered).not.toBe(interned[0]);
    expect(offered.equals(parse('cpus:4;mem:1024').allocatedTo('eng'))).toBe(true);
  });

  it('starts over past its bound, still answering equal values', () => {
    const interner = new ResourcesInterner(2);
    interner.intern(parse('cpus:1'));
    interner.intern(parse('cpus:2'));
    const third = interner.intern(parse('cpus:3'));
    expect(interner.size).toBe(1);
    expect(interner.intern(parse('cpus:3'))).toBe(third);
    expect(interner.intern(parse('cpus:1')).equals(parse('cpus:1'))).toBe(true);
  });

  it('memos of a shared value keep the allocated form of every role', () => {
    const interner = new ResourcesInterner();
    const total = interner.intern(parse('cpus:4;mem:1024'));
    const roles = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const first = roles.map((role) => total.allocatedTo(role));
    const again = roles.map((role) => total.allocatedTo(role));
    for (let i = 0; i < roles.length; i++) expect(again[i]).toBe(first[i]);
  });
});
