import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileRegistry, InMemoryRegistry, REGISTRY_FILE, emptyRegistry } from './index.js';

const dirs: string[] = [];
function workDir(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'agora-registry-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('FileRegistry', () => {
  it('starts empty, stores every operation, and gives it all back to the next master', async () => {
    const dir = workDir();
    const first = new FileRegistry(dir);
    expect(await first.load()).toEqual(emptyRegistry());
    await first.apply({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'ops', weight: 1.5 }, { role: 'eng', weight: 2 }] });
    await first.apply({ type: 'UPDATE_QUOTA', quota_configs: [{ role: 'eng', guarantees: { cpus: { value: 4 } } }] });
    await first.apply({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'ops', weight: 3 }] });
    const again = await new FileRegistry(dir).load();
    expect(again).toEqual({
      ...emptyRegistry(),
      weights: [{ role: 'eng', weight: 2 }, { role: 'ops', weight: 3 }],
      quota_configs: [{ role: 'eng', guarantees: { cpus: { value: 4 } } }],
    });
    // A config with neither guarantees nor limits removes the quota.
    await first.apply({ type: 'UPDATE_QUOTA', quota_configs: [{ role: 'eng' }] });
    expect((await new FileRegistry(dir).load()).quota_configs).toEqual([]);
    // Only the snapshot is left: no temp files.
    expect(readdirSync(dir)).toEqual([REGISTRY_FILE]);
    expect(JSON.parse(readFileSync(join(dir, REGISTRY_FILE), 'utf8')).version).toBe(1);
  });

  it('reads a file of the first format (weights and quota only), and keeps agents from then on', async () => {
    const dir = workDir();
    writeFileSync(join(dir, REGISTRY_FILE), '{"version":1,"weights":[{"role":"eng","weight":2}],"quota_configs":[]}');
    const registry = new FileRegistry(dir);
    expect(await registry.load()).toEqual({ ...emptyRegistry(), weights: [{ role: 'eng', weight: 2 }] });
    const agent = { info: { id: { value: 'S1' }, hostname: 'h1' }, endpoint: { ip: '127.0.0.1', port: 5051 } };
    await registry.apply({ type: 'ADMIT_AGENT', agent });
    await registry.apply({ type: 'MARK_AGENT_GONE', agent_id: { value: 'S0' }, timestamp: { nanoseconds: 1e18 } });
    const again = await new FileRegistry(dir).load();
    expect(again.agents).toEqual([agent]);
    expect(again.gone).toEqual([{ id: { value: 'S0' }, timestamp: { nanoseconds: 1e18 } }]);
  });

  it('stores operations applied during a write together in the next one, each resolving once stored', async () => {
    const dir = workDir();
    const registry = new FileRegistry(dir);
    await registry.load();
    const writes = Array.from({ length: 50 }, (_, i) =>
      registry.apply({ type: 'ADMIT_AGENT', agent: { info: { id: { value: `S${String(i).padStart(2, '0')}` }, hostname: `h${i}` } } }),
    );
    const order: number[] = [];
    await Promise.all(writes.map((w, i) => w.then(() => order.push(i))));
    // They resolve in the order they were applied, and every one is in the file.
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect((await new FileRegistry(dir).load()).agents).toHaveLength(50);
  });

  it('refuses to start from a registry it cannot read, naming the file and the field', async () => {
    const dir = workDir();
    writeFileSync(join(dir, REGISTRY_FILE), '{"version":1,"weights":[{"role":"eng","weight":"x"}],"quota_configs":[]}');
    await expect(new FileRegistry(dir).load()).rejects.toThrow(/registry\.json cannot be read: .*registry\.weights\[0\]\.weight/);
    writeFileSync(join(dir, REGISTRY_FILE), '{"version":');
    await expect(new FileRegistry(dir).load()).rejects.toThrow(/it is not JSON/);
  });

  it('fails the operation when the snapshot cannot be written', async () => {
    const dir = join(workDir(), 'master');
    const registry = new FileRegistry(dir);
    await registry.load();
    // The work dir turned into a file under the master's feet: nothing can be written there.
    writeFileSync(dir, 'not a directory');
    await expect(registry.apply({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'a', weight: 2 }] })).rejects.toThrow(/EEXIST|ENOTDIR/);
  });
});

describe('InMemoryRegistry', () => {
  it('applies operations without writing anywhere', async () => {
    const registry = new InMemoryRegistry();
    await registry.apply({ type: 'UPDATE_WEIGHTS', weight_infos: [{ role: 'a', weight: 2 }] });
    expect((await registry.load()).weights).toEqual([{ role: 'a', weight: 2 }]);
  });
});
