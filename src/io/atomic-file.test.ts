import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomically } from './atomic-file.js';

describe('writeFileAtomically', () => {
  it('replaces the file whole and leaves no temp file behind', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'agora-atomic-'));
    const path = join(dir, 'nested', 'state.json');
    await writeFileAtomically(path, 'one');
    await Promise.all([writeFileAtomically(path, 'two'), writeFileAtomically(path, 'three')]);
    expect(['two', 'three']).toContain(readFileSync(path, 'utf8'));
    expect(readdirSync(join(dir, 'nested'))).toEqual(['state.json']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('rejects when the directory cannot be made, leaving what is there alone', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'agora-atomic-'));
    const file = join(dir, 'plain-file');
    await writeFileAtomically(file, 'kept');
    await expect(writeFileAtomically(join(file, 'x.json'), 'x')).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('kept');
    expect(readdirSync(dir)).toEqual(['plain-file']);
  });
});
