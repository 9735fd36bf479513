import { describe, expect, it } from 'vitest';
import { attributesSummary, parseAttributes } from './attributes.js';

describe('parseAttributes', () => {
  it('reads scalars, ranges and text', () => {
    expect(parseAttributes('rack:abc;zone:west;level:10;keys:[1000-1500]')).toEqual([
      { name: 'rack', type: 'TEXT', text: { value: 'abc' } },
      { name: 'zone', type: 'TEXT', text: { value: 'west' } },
      { name: 'level', type: 'SCALAR', scalar: { value: 10 } },
      { name: 'keys', type: 'RANGES', ranges: { range: [{ begin: 1000, end: 1500 }] } },
    ]);
  });

  it('keeps text that only starts like a number, and empty input', () => {
    expect(parseAttributes('host:10.0.0.1')).toEqual([{ name: 'host', type: 'TEXT', text: { value: '10.0.0.1' } }]);
    expect(parseAttributes('')).toEqual([]);
  });

  it.each([
    ['rack', '"rack": expected name:value'],
    ['rack:', '"rack:": the value is missing'],
    [':abc', 'the attribute name is missing'],
    ['keys:[5-1]', 'range 5-1 has begin greater than end'],
    ['keys:[1-', 'ranges must end with "]"'],
    ['tags:{a,b}', 'set attributes are not supported'],
  ])('refuses %j', (text, error) => {
    const result = parseAttributes(text);
    expect('error' in result && result.error).toContain(error);
  });
});

describe('attributesSummary', () => {
  it('prints as /state does', () => {
    const list = parseAttributes('rack:abc;level:10;keys:[1000-1500,2000-2001]');
    if ('error' in list) throw new Error(list.error);
    expect(attributesSummary(list)).toEqual({ rack: 'abc', level: 10, keys: '[1000-1500, 2000-2001]' });
  });
});
