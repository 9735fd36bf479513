import { describe, expect, it } from 'vitest';
import { agentAttributes, agentResources, type MachineFacts } from './resource-detection.js';

const GB = 1024 ** 3;
const machine = (extra: Partial<MachineFacts> = {}): MachineFacts => ({ cpus: 8, memBytes: 16 * GB, workDirFsBytes: 100 * GB, ...extra });

describe('agentResources', () => {
  it('detects everything when --resources is absent: cores, mem - 1 GB, disk - 5 GB, ports', async () => {
    const resources = await agentResources(undefined, machine());
    expect(Object.fromEntries(resources.scalarQuantities())).toEqual({ cpus: 8, mem: 15360, disk: 97280 });
    expect(resources.summary()['ports']).toBe('[31000-32000]');
  });

  it('halves small memory (< 2 GB) and small disks (< 10 GB)', async () => {
    const small = await agentResources(undefined, machine({ memBytes: 1.5 * GB, workDirFsBytes: 8 * GB }));
    expect(small.scalar('mem')).toBe(768);
    expect(small.scalar('disk')).toBe(4096);
  });

  it('detects only what the flag leaves out, and keeps custom resources', async () => {
    const resources = await agentResources('cpus:2;gpus:1;fpgas:3', machine());
    expect(Object.fromEntries(resources.scalarQuantities())).toEqual({ cpus: 2, gpus: 1, fpgas: 3, mem: 15360, disk: 97280 });
    expect(resources.summary()['ports']).toBe('[31000-32000]');
  });

  it('counts a reserved resource as given', async () => {
    const resources = await agentResources('mem(eng):512', machine());
    expect(resources.scalar('mem')).toBe(512);
  });

  it('names the flag and the fix when the text is wrong', async () => {
    await expect(agentResources('cpu:2', machine())).rejects.toThrow(/^--resources: .*did you mean "cpus"\?.*expected e\.g\./);
    await expect(agentResources('file:///no/such/file', machine())).rejects.toThrow(/^--resources: cannot read file:\/\/\/no\/such\/file/);
  });
});

describe('agentAttributes', () => {
  it('parses Mesos attribute text and names the flag on errors', async () => {
    expect(await agentAttributes('rack:r1;ports:[1-3]')).toEqual([
      { name: 'rack', type: 'TEXT', text: { value: 'r1' } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 3 }] } },
    ]);
    expect(await agentAttributes(undefined)).toEqual([]);
    await expect(agentAttributes('rack')).rejects.toThrow(/^--attributes: /);
  });
});
