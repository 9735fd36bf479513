import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskLimitationMessage, diskUsageBytes } from './du.js';

describe('diskUsageBytes', () => {
  it('counts allocated blocks under a directory, hard links once, like du -s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-du-'));
    const empty = await diskUsageBytes(dir);
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    writeFileSync(join(dir, 'a/b/big'), Buffer.alloc(1024 * 1024, 1));
    linkSync(join(dir, 'a/b/big'), join(dir, 'a/again'));
    const used = await diskUsageBytes(dir);
    expect(used - empty).toBeGreaterThanOrEqual(1024 * 1024);
    expect(used - empty).toBeLessThan(2 * 1024 * 1024);
    expect(await diskUsageBytes(join(dir, 'missing'))).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('words an over-use as Mesos does', () => {
    expect(diskLimitationMessage(8 * 1024 * 1024, 2)).toBe('Disk usage (8MB) exceeds quota (2MB)');
    expect(diskLimitationMessage(2.5 * 1024 * 1024, 2)).toBe('Disk usage (2.5MB) exceeds quota (2MB)');
  });
});
