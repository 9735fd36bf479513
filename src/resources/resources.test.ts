import { describe, expect, it } from 'vitest';
import { AgoraError, BugIndicatingError } from '../base/index.js';
import type { Resource } from '../api/index.js';
import { Resources } from './resources.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

describe('arithmetic', () => {
  it('adds and subtracts scalars exactly in thousandths', () => {
    let sum = Resources.empty();
    for (let i = 0; i < 10; i++) sum = sum.add(r('cpus:0.1'));
    expect(sum.scalar('cpus')).toBe(1);
    expect(r('cpus:0.1').add(r('cpus:0.2')).equals(r('cpus:0.3'))).toBe(true);
    expect(r('cpus:1').subtract(r('cpus:0.7')).scalar('cpus')).toBe(0.3);
    expect(r('cpus:0.0004').isEmpty()).toBe(true);
    expect(r('mem:1.23456').scalar('mem')).toBe(1.235);
  });

  it('drops entries that reach zero', () => {
    expect(r('cpus:2;mem:64').subtract(r('cpus:2')).toString()).toBe('mem:64');
    expect(r('cpus:2').subtract(r('cpus:2')).isEmpty()).toBe(true);
  });

  it('splits and merges ranges', () => {
    const ports = r('ports:[31000-32000]');
    const left = ports.subtract(r('ports:[31500-31500]'));
    expect(left.toString()).toBe('ports:[31000-31499,31501-32000]');
    expect(left.add(r('ports:[31500-31500]')).equals(ports)).toBe(true);
  });

  it('adds and subtracts sets', () => {
    expect(r('bugs:{a,b}').add(r('bugs:{c}')).toString()).toBe('bugs:{a,b,c}');
    expect(r('bugs:{a,b,c}').subtract(r('bugs:{b}')).toString()).toBe('bugs:{a,c}');
  });

  it('keeps differently reserved resources apart', () => {
    const sum = r('cpus:1').add(r('cpus(eng):2'));
    expect(sum.toString()).toBe('cpus:1;cpus(eng):2');
    expect(sum.scalar('cpus')).toBe(3);
    expect(sum.contains(r('cpus:2'))).toBe(false);
    expect(sum.contains(r('cpus(eng):2'))).toBe(true);
  });

  it('asserts on subtracting what is not there', () => {
    expect(() => r('cpus:1').subtract(r('cpus:2'))).toThrow(BugIndicatingError);
    expect(() => r('cpus:1').subtract(r('mem:2'))).toThrow(BugIndicatingError);
    expect(() => r('cpus:1').subtract(r('cpus(eng):1'))).toThrow(BugIndicatingError);
    expect(() => r('ports:[1-5]').subtract(r('ports:[4-6]'))).toThrow(BugIndicatingError);
  });

  it('asserts on adding one name with two types', () => {
    expect(() => r("foo:1").add(r("foo:[1-2]"))).toThrow(BugIndicatingError);
  });
});

describe('contains and equals', () => {
  it.each([
    ['cpus:2;mem:1024', 'cpus:1;mem:1024', true],
    ['cpus:2;mem:1024', 'cpus:3', false],
    ['cpus:2', '', true],
    ['', 'cpus:0.001', false],
    ['ports:[1-10,20-30]', 'ports:[2-3,25-30]', true],
    ['ports:[1-10,20-30]', 'ports:[9-21]', false],
    ['bugs:{a,b}', 'bugs:{a}', true],
    ['bugs:{a,b}', 'bugs:{c}', false],
  ])('%j contains %j: %s', (a, b, want) => {
    expect(r(a).contains(r(b))).toBe(want);
  });

  it('compares values, not construction order', () => {
    expect(r('mem:64;cpus:1;ports:[3-4,1-2]').equals(r('cpus:1;ports:[1-4];mem:64'))).toBe(true);
    expect(r('cpus:1').equals(r('cpus(eng):1'))).toBe(false);
  });
});

describe('views', () => {
  const agent = r('cpus:4;mem:4096;cpus(eng):2;mem(eng/ml):512;disk(ops):100;ports:[31000-32000]');

  it('filters by reservation', () => {
    expect(agent.unreserved().toString()).toBe('cpus:4;mem:4096;ports:[31000-32000]');
    expect(agent.reservedTo('eng').toString()).toBe('cpus(eng):2');
    expect(agent.reservedTo('eng/ml').toString()).toBe('mem(eng/ml):512');
  });

  it('gives a role the unreserved and what its ancestors or itself reserved', () => {
    expect(agent.allocatableTo('eng/ml').toString()).toBe('cpus:4;cpus(eng):2;mem:4096;mem(eng/ml):512;ports:[31000-32000]');
    expect(agent.allocatableTo('eng').toString()).toBe('cpus:4;cpus(eng):2;mem:4096;ports:[31000-32000]');
    expect(agent.allocatableTo('web').equals(agent.unreserved())).toBe(true);
  });

  it('splits what a role may use from the rest', () => {
    expect(agent.notAllocatableTo('eng').toString()).toBe('mem(eng/ml):512;disk(ops):100');
    expect(agent.notAllocatableTo('web').toString()).toBe('cpus(eng):2;mem(eng/ml):512;disk(ops):100');
    expect(r('cpus:1').notAllocatableTo('web').isEmpty()).toBe(true);
    // Asked again, the same objects come back (the allocator relies on this to avoid garbage).
    expect(agent.allocatableTo('eng')).toBe(agent.allocatableTo('eng'));
  });

  it('sets and strips the allocation role', () => {
    const offered = r('cpus:1;mem:64').allocatedTo('web');
    expect(offered.toWire()).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, allocation_info: { role: 'web' } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, allocation_info: { role: 'web' } },
    ]);
    expect(offered.toString()).toBe('cpus(allocated: web):1;mem(allocated: web):64');
    expect(offered.equals(r('cpus:1;mem:64'))).toBe(false);
    expect(offered.unallocated().equals(r('cpus:1;mem:64'))).toBe(true);
  });

  it('splits by allocation role', () => {
    const mixed = r('cpus:1').allocatedTo('a').add(r('cpus:2').allocatedTo('b')).add(r('mem:3'));
    const byRole = mixed.allocations();
    expect(byRole.get('a')?.toString()).toBe('cpus(allocated: a):1');
    expect(byRole.get('b')?.scalar('cpus')).toBe(2);
    expect(byRole.get(undefined)?.toString()).toBe('mem:3');
  });

  it('summarizes as /state does', () => {
    expect(agent.add(r('bugs:{b,a}')).summary()).toEqual({
      cpus: 6,
      gpus: 0,
      mem: 4608,
      disk: 100,
      ports: '[31000-32000]',
      bugs: '{a, b}',
    });
    expect(Resources.empty().summary()).toEqual({ cpus: 0, gpus: 0, mem: 0, disk: 0 });
    expect(r('ports:[1-2,5-6]').summary().ports).toBe('[1-2, 5-6]');
  });

  it('lists names and scalar quantities', () => {
    expect(agent.names()).toEqual(['cpus', 'mem', 'disk', 'ports']);
    expect(agent.scalarQuantities()).toEqual(new Map([['cpus', 6], ['mem', 4608], ['disk', 100]]));
  });
});

describe('wire', () => {
  it('round-trips every kind of entry', () => {
    const wire: Resource[] = [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 5 }] } },
      { name: 'bugs', type: 'SET', set: { item: ['a', 'b'] } },
      {
        name: 'disk',
        type: 'SCALAR',
        scalar: { value: 100 },
        reservations: [
          { type: 'DYNAMIC', role: 'eng', principal: 'ops', labels: { labels: [{ key: 'k', value: 'v' }] } },
          { type: 'DYNAMIC', role: 'eng/ml' },
        ],
        disk: { persistence: { id: 'vol1' }, volume: { container_path: 'data', mode: 'RW' } },
        allocation_info: { role: 'eng/ml' },
      },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, revocable: {} },
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, shared: {}, provider_id: { value: 'p1' } },
    ];
    const resources = Resources.fromWire(wire);
    expect(Resources.fromWire(resources.toWire()).equals(resources)).toBe(true);
    expect(resources.toWire()).toEqual(expect.arrayContaining(wire));
    expect(resources.toWire()).toHaveLength(wire.length);
  });

  it('merges like entries and reads the pre-refinement role', () => {
    const resources = Resources.fromWire([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: 'eng' },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'STATIC', role: 'eng' }] },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 4 }, role: '*' },
      { name: 'mem', type: 'SCALAR', scalar: { value: 8 }, role: 'web', reservation: { principal: 'p' } },
    ]);
    expect(resources.toWire()).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
      { name: 'cpus', type: 'SCALAR', scalar: { value: 3 }, reservations: [{ type: 'STATIC', role: 'eng' }] },
      { name: 'mem', type: 'SCALAR', scalar: { value: 8 }, reservations: [{ type: 'DYNAMIC', role: 'web', principal: 'p' }] },
    ]);
    expect(resources.reservedTo('web').scalar('mem')).toBe(8);
  });

  it('writes the pre-refinement format for frameworks without RESERVATION_REFINEMENT', () => {
    const resources = r('cpus:1').add(Resources.fromWire([{ name: 'mem', type: 'SCALAR', scalar: { value: 8 }, role: 'web', reservation: { principal: 'p' } }]));
    expect(resources.toWire('pre-refinement')).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: '*' },
      { name: 'mem', type: 'SCALAR', scalar: { value: 8 }, role: 'web', reservation: { principal: 'p' } },
    ]);
  });

  it.each([
    [[{ name: 'cpus', type: 'SCALAR', scalar: { value: -1 } }], 'resources[0] "cpus": scalar value -1 must not be negative'],
    [[{ name: 'cpus', type: 'SCALAR' }], 'resources[0] "cpus": type is SCALAR but the "scalar" field is missing'],
    [[{ name: 'cpus', type: 'SCALAR', scalar: { value: Number.NaN } }], 'is not a finite number'],
    [[{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 5, end: 1 }] } }], 'range 5-1 has begin greater than end'],
    [[{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: -5, end: 1 }] } }], 'must be non-negative integers'],
    [[{ name: 'rack', type: 'TEXT' }], 'type TEXT is only for attributes'],
    [
      [
        { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
        { name: 'ports', type: 'SCALAR', scalar: { value: 1 } },
      ],
      '"ports" is given both as',
    ],
    [[{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: '*' }] }], 'cannot be reserved to role "*"'],
    [
      [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'a' }, { type: 'DYNAMIC', role: 'b' }] }],
      'role "b" must be a descendant of "a"',
    ],
    [
      [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'a' }, { type: 'STATIC', role: 'a/b' }] }],
      'refined reservations must be DYNAMIC',
    ],
    [[{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, allocation_info: { role: 'a//b' } }], 'allocation_info: role "a//b" is invalid'],
  ] as [Resource[], string][])('refuses %j', (wire, error) => {
    const result = Resources.tryFromWire(wire);
    expect('error' in result && result.error).toContain(error);
    expect(() => Resources.fromWire(wire)).toThrow(AgoraError);
  });

  it('throws a 400-class AgoraError from fromWire', () => {
    try {
      Resources.fromWire([{ name: 'cpus', type: 'SCALAR', scalar: { value: -1 } }]);
      expect.unreachable();
    } catch (err) {
      expect((err as AgoraError).code).toBe('AGORA_ERR_VALIDATION');
      expect((err as AgoraError).message).toBe('Invalid resources: resources[0] "cpus": scalar value -1 must not be negative');
    }
  });
});
