import { describe, expect, it } from 'vitest';
import { Resources } from './resources.js';
import { suggestResourceName } from './parse.js';

function parsed(text: string, defaultRole?: string): Resources {
  const result = Resources.parse(text, defaultRole);
  if ('error' in result) throw new Error(result.error);
  return result;
}

function errorOf(text: string, defaultRole?: string): string {
  const result = Resources.parse(text, defaultRole);
  if (!('error' in result)) throw new Error(`expected "${text}" to be refused, got ${result}`);
  return result.error;
}

describe('Resources.parse: text', () => {
  it('reads the Mesos flag grammar', () => {
    const r = parsed('cpus:24;mem:24576;disk:409600;ports:[21000-24000,30000-34000];bugs(role):{a,b,c}');
    expect(r.scalar('cpus')).toBe(24);
    expect(r.scalar('mem')).toBe(24576);
    expect(r.scalar('disk')).toBe(409600);
    expect(r.toWire()).toContainEqual({
      name: 'ports',
      type: 'RANGES',
      ranges: { range: [{ begin: 21000, end: 24000 }, { begin: 30000, end: 34000 }] },
    });
    expect(r.toWire()).toContainEqual({
      name: 'bugs',
      type: 'SET',
      set: { item: ['a', 'b', 'c'] },
      reservations: [{ type: 'STATIC', role: 'role' }],
    });
  });

  it('tolerates whitespace, empty items and fractional cpus', () => {
    expect(parsed(' cpus : 0.5 ; mem:32 ;; ports: [ 1-2 , 4-5 ] ;').toString()).toBe('cpus:0.5;mem:32;ports:[1-2,4-5]');
  });

  it('makes name(role) a static reservation, and "*" unreserved', () => {
    const r = parsed('cpus(eng):2;cpus(*):1;mem(eng/ml):64');
    expect(r.reservedTo('eng').toString()).toBe('cpus(eng):2');
    expect(r.unreserved().toString()).toBe('cpus:1');
    expect(r.reservedTo('eng/ml').toWire()).toEqual([
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, reservations: [{ type: 'STATIC', role: 'eng/ml' }] },
    ]);
  });

  it('applies the default role to items without one', () => {
    const r = parsed('cpus:2;mem(*):64', 'eng');
    expect(r.reservedTo('eng').toString()).toBe('cpus(eng):2');
    expect(r.unreserved().toString()).toBe('mem:64');
  });

  it('sums repeated items and keeps custom resource names', () => {
    expect(parsed('cpus:1;cpus:2.5;fpgas:2;disk2:4').toString()).toBe('cpus:3.5;disk2:4;fpgas:2');
  });

  it('reads an empty text as no resources', () => {
    expect(parsed('').isEmpty()).toBe(true);
  });

  it.each([
    ['cpu:2', '"cpu:2": "cpu" is not a known resource name; did you mean "cpus"?'],
    ['memory:1024', '"memory:1024": "memory" is not a known resource name; did you mean "mem"?'],
    ['CPUS:1', '"CPUS:1": "CPUS" is not a known resource name; did you mean "cpus"?'],
    ['gpu:1', 'did you mean "gpus"?'],
    ['prots:[1-2]', 'did you mean "ports"?'],
    ['cpus:-1', '"cpus:-1": a quantity must not be negative; write 0 or more, e.g. "cpus:1"'],
    ['cpus:abc', '"cpus:abc": "abc" is not a number'],
    ['cpus', '"cpus": expected name:value or name(role):value'],
    ['cpus:', '"cpus:": the value is missing; write e.g. "cpus:2"'],
    ['gpus:0.5', '"gpus:0.5": gpus must be a whole number; write e.g. "gpus:1"'],
    ['ports:[32000-31000]', '"ports:[32000-31000]": range 32000-31000 has begin greater than end; write it as 31000-32000'],
    ['ports:[31000]', '"ports:[31000]": "31000" is not a range; write each range as begin-end'],
    ['ports:[1-2', '"ports:[1-2": ranges must end with "]"'],
    ['ports:[a-b]', '"a-b" is not a range'],
    ['bugs:{a,,b}', 'a set item is empty'],
    ['ports:[1-2];ports:3', '"ports:3": "ports" is a RANGES in "ports:[1-2]" but a SCALAR here; a resource name has one type'],
    ['cpus(a//b):1', '"cpus(a//b):1": role "a//b" is invalid: it must not contain "//"'],
    ['file:///etc/agora/resources', 'read the file and pass its contents'],
  ])('refuses %j', (text, error) => {
    expect(errorOf(text)).toContain(error);
  });

  it('refuses an invalid default role', () => {
    expect(errorOf('cpus:1', 'bad role')).toBe('default role: role "bad role" is invalid: it must not contain whitespace or backspace characters');
  });
});

describe('Resources.parse: JSON', () => {
  it('reads a JSON array of Resource and applies the default role', () => {
    const r = parsed(
      JSON.stringify([
        { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 512 }, role: 'ops' },
      ]),
      'eng',
    );
    expect(r.toString()).toBe('cpus(eng):2;mem(ops):512');
  });

  it('names the bad field', () => {
    expect(errorOf('[{"name":"cpus","type":"SCALAR","scalar":{"value":-2}}]')).toBe(
      'resources[0] "cpus": scalar value -2 must not be negative',
    );
    expect(errorOf('[{"name":"cpus"}]')).toContain('resources[0].type');
    expect(errorOf('[{"name":"gpus","type":"SCALAR","scalar":{"value":1.5}}]')).toContain('gpus must be a whole number');
    expect(errorOf('[{"name":')).toContain('resources look like JSON but do not parse');
  });
});

describe('suggestResourceName', () => {
  it.each([
    ['cpu', 'cpus'],
    ['cpsu', 'cpus'],
    ['mems', 'mem'],
    ['disks', 'disk'],
    ['port', 'ports'],
    ['cores', 'cpus'],
    ['cpus', undefined],
    ['fpgas', undefined],
    ['disk2', undefined],
    ['network_bandwidth', undefined],
  ])('%j -> %j', (name, want) => {
    expect(suggestResourceName(name)).toBe(want);
  });
});
