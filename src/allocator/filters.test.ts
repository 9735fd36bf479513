import { describe, expect, it } from 'vitest';
import { Resources } from '../resources/index.js';
import { RefuseFilters } from './filters.js';

function r(text: string): Resources {
  const result = Resources.parse(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

describe('RefuseFilters', () => {
  const declined = r('cpus:4;mem:4096');

  it('filters what the declined resources contain, until expiry', () => {
    const f = new RefuseFilters();
    f.add({ frameworkId: 'f1', role: 'web', agentId: 'a1', resources: declined, expiresAtMs: 5000 });
    expect(f.isFiltered('f1', 'web', 'a1', declined, 0)).toBe(true);
    expect(f.isFiltered('f1', 'web', 'a1', r('cpus:1;mem:512'), 4999)).toBe(true);
    // More than was declined is worth offering again.
    expect(f.isFiltered('f1', 'web', 'a1', r('cpus:8;mem:4096'), 0)).toBe(false);
    expect(f.isFiltered('f1', 'web', 'a1', declined, 5000)).toBe(false);
    // Other frameworks, roles and agents are unaffected.
    expect(f.isFiltered('f2', 'web', 'a1', declined, 0)).toBe(false);
    expect(f.isFiltered('f1', 'ops', 'a1', declined, 0)).toBe(false);
    expect(f.isFiltered('f1', 'web', 'a2', declined, 0)).toBe(false);
  });

  it('expires filters in time order and reports their agents', () => {
    const f = new RefuseFilters();
    f.add({ frameworkId: 'f1', role: 'web', agentId: 'a1', resources: declined, expiresAtMs: 5000 });
    f.add({ frameworkId: 'f1', role: 'web', agentId: 'a2', resources: declined, expiresAtMs: 3000 });
    expect(f.nextExpiryMs()).toBe(3000);
    expect([...f.expire(2999)]).toEqual([]);
    expect([...f.expire(3000)]).toEqual(['a2']);
    expect(f.count()).toBe(1);
    expect(f.nextExpiryMs()).toBe(5000);
    expect([...f.expire(10_000)]).toEqual(['a1']);
    expect(f.nextExpiryMs()).toBeUndefined();
    expect(f.onAgent('a1')).toBeUndefined();
  });

  it('clears by framework and role, and by agent', () => {
    const f = new RefuseFilters();
    f.add({ frameworkId: 'f1', role: 'web', agentId: 'a1', resources: declined, expiresAtMs: 5000 });
    f.add({ frameworkId: 'f1', role: 'ops', agentId: 'a1', resources: declined, expiresAtMs: 5000 });
    f.add({ frameworkId: 'f2', role: 'web', agentId: 'a2', resources: declined, expiresAtMs: 5000 });
    expect(f.count('web')).toBe(2);
    f.clear('f1', new Set(['web']));
    expect(f.count('web')).toBe(1);
    expect(f.count('ops')).toBe(1);
    f.removeAgent('a2');
    expect(f.count('web')).toBe(0);
    f.clear('f1');
    expect(f.count()).toBe(0);
    // Filters removed early are skipped when their expiry comes.
    expect(f.nextExpiryMs()).toBeUndefined();
  });
});
