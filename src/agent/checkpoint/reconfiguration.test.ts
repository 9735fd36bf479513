import { describe, expect, it } from 'vitest';
import type { AgentInfo } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { reconfigurationChanges, reconfigurationRefusal } from './reconfiguration.js';

function agent(resources: string, attributes: AgentInfo['attributes'] = [], hostname = 'h1'): AgentInfo {
  const parsed = Resources.parse(resources);
  if ('error' in parsed) throw new Error(parsed.error);
  return { hostname, resources: parsed.toWire(), attributes };
}
const rack = (value: string) => ({ name: 'rack', type: 'TEXT' as const, text: { value } });
const zone = { name: 'zone', type: 'TEXT' as const, text: { value: 'a' } };

describe('reconfigurationChanges', () => {
  const before = agent('cpus:2;mem:1024', [rack('r1')]);

  it('lets the same agent recover under either policy', () => {
    expect(reconfigurationChanges(before, agent('cpus:2;mem:1024', [rack('r1')]), 'equal')).toEqual([]);
    expect(reconfigurationChanges(before, agent('cpus:2;mem:1024', [rack('r1')]), 'additive')).toEqual([]);
  });

  it('additive: resources may grow and attributes be added; nothing may shrink, change or go', () => {
    expect(reconfigurationChanges(before, agent('cpus:4;mem:1024;disk:10', [rack('r1'), zone]), 'additive')).toEqual([]);
    expect(reconfigurationChanges(before, agent('cpus:1;mem:1024', [rack('r1')]), 'additive')).toEqual([
      '--resources changed from "cpus:2;mem:1024" to "cpus:1;mem:1024" (with --reconfiguration_policy=additive they may only grow)',
    ]);
    expect(reconfigurationChanges(before, agent('cpus:2;mem:1024', [rack('r2')]), 'additive')).toEqual([
      'attribute "rack" changed from {"type":"TEXT","text":{"value":"r1"}} to {"type":"TEXT","text":{"value":"r2"}}',
    ]);
    expect(reconfigurationChanges(before, agent('cpus:2;mem:1024', []), 'additive')).toEqual(['attribute "rack" ({"type":"TEXT","text":{"value":"r1"}}) was removed']);
  });

  it('equal: no growth and no new attribute either; a new hostname is refused by both', () => {
    expect(reconfigurationChanges(before, agent('cpus:4;mem:1024', [rack('r1'), zone]), 'equal')).toHaveLength(2);
    expect(reconfigurationChanges(before, agent('cpus:2;mem:1024', [rack('r1')], 'h2'), 'additive')).toEqual(['the hostname changed from "h1" to "h2"']);
  });

  it('says in its refusal what changed and both ways forward', () => {
    const text = reconfigurationRefusal('A-S0', '/w/meta/slaves/latest', ['x changed', 'y was removed']);
    expect(text).toBe(
      'this agent cannot recover agent A-S0 from its checkpoint: x changed; y was removed. Restart it with the flags it had to keep its tasks, ' +
        'or remove /w/meta/slaves/latest to start as a new agent (its tasks will be killed)',
    );
  });
});
