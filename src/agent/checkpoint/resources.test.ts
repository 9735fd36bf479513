import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resource } from '../../api/index.js';
import { Resources } from '../../resources/index.js';
import { RESOURCES_CHECKPOINT, checkpointResources, checkpointsWritten, loadCheckpointedResources } from './resources.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
function workDir(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'agora-checkpoint-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const declared = Resources.parse('cpus:4;mem:1024;cpus(ops):1') as Resources;

/** The declared resources with 2 cpus dynamically reserved for db, as the master would send them. */
function withReservation(): Resource[] {
  const reserved = Resources.fromWire([{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, reservations: [{ type: 'DYNAMIC', role: 'db', principal: 'p' }] }]);
  return declared.subtract(Resources.parse('cpus:2') as Resources).add(reserved).toWire();
}

describe('checkpointed resources', () => {
  it('are the declared resources until the master sends reservations, and survive a restart after', async () => {
    const dir = workDir();
    expect((await loadCheckpointedResources(dir, declared, log)).equals(declared)).toBe(true);
    const total = checkpointResources(dir, declared, withReservation(), log);
    expect(total.toString()).toBe('cpus:2;cpus(db):2;cpus(ops):1;mem:1024');
    await checkpointsWritten(dir);
    const again = await loadCheckpointedResources(dir, declared, log);
    expect(again.equals(total)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, RESOURCES_CHECKPOINT), 'utf8'))).toEqual(total.toWire());
  });

  it('ignore a view from the master that changes more than dynamic reservations', () => {
    const dir = workDir();
    const total = checkpointResources(dir, declared, (Resources.parse('cpus:8;mem:1024;cpus(ops):1') as Resources).toWire(), log);
    expect(total).toBe(declared);
  });

  it('stop the agent when the checkpoint does not match its --resources, saying what to do', async () => {
    const dir = workDir();
    checkpointResources(dir, declared, withReservation(), log);
    await checkpointsWritten(dir);
    const other = Resources.parse('cpus:8;mem:1024') as Resources;
    await expect(loadCheckpointedResources(dir, other, log)).rejects.toThrow(/not this agent's --resources .*remove that file/);
    mkdirSync(join(dir, 'meta', 'resources'), { recursive: true });
    writeFileSync(join(dir, RESOURCES_CHECKPOINT), '{"cpus"');
    await expect(loadCheckpointedResources(dir, declared, log)).rejects.toThrow(/it is not JSON/);
  });
});
