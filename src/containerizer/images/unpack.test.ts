import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTar, makeTarGz } from './tar-fixture.test-support.js';
import { applyLayer, unpackLayer } from './unpack.js';

const dirs: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'agora-unpack-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function layerFile(dir: string, name: string, tar: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, tar);
  return path;
}

describe('unpacking a layer', () => {
  it('keeps modes (setuid, sticky, read-only), symlink targets verbatim and hard links', async () => {
    const dir = temp();
    const file = layerFile(dir, 'l.tar.gz', makeTarGz([
      { path: 'tmp/', type: 'dir', mode: 0o1777 },
      { path: 'bin/', type: 'dir' },
      { path: 'bin/busybox', content: 'BB', mode: 0o4755 },
      { path: 'bin/sh', type: 'symlink', linkpath: '/bin/busybox' },
      { path: 'usr/bin/rel', type: 'symlink', linkpath: '../../bin/busybox' },
      { path: 'bin/hard', type: 'hardlink', linkpath: 'bin/busybox' },
      { path: 'etc/ro', content: 'r', mode: 0o444 },
      { path: 'dev/null', type: 'chardev' },
    ]));
    const out = join(dir, 'rootfs');
    const whiteouts = await unpackLayer(file, out);
    expect(whiteouts).toEqual({ deleted: [], opaque: [] });
    expect(statSync(join(out, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(out, 'bin/busybox')).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(out, 'etc/ro')).mode & 0o7777).toBe(0o444);
    expect(readlinkSync(join(out, 'bin/sh'))).toBe('/bin/busybox');
    expect(readlinkSync(join(out, 'usr/bin/rel'))).toBe('../../bin/busybox');
    expect(statSync(join(out, 'bin/hard')).ino).toBe(statSync(join(out, 'bin/busybox')).ino);
    expect(existsSync(join(out, 'dev/null'))).toBe(false); // devices are the runtime's job
  });

  it('records whiteouts instead of writing them', async () => {
    const dir = temp();
    const file = layerFile(dir, 'l.tar', makeTar([
      { path: 'etc/.wh.motd' },
      { path: 'var/cache/.wh..wh..opq' },
      { path: '.wh.gone' },
      { path: 'var/cache/new', content: 'n' },
      { path: 'x/.wh..wh.plnk' },
    ]));
    const out = join(dir, 'rootfs');
    expect(await unpackLayer(file, out)).toEqual({ deleted: ['etc/motd', 'gone'], opaque: ['var/cache'] });
    expect(existsSync(join(out, 'etc/.wh.motd'))).toBe(false);
    expect(readFileSync(join(out, 'var/cache/new'), 'utf8')).toBe('n');
  });

  it.each([
    ['a path with ..', [{ path: '../escape', content: 'x' }]],
    ['a path climbing out midway', [{ path: 'a/../../escape', content: 'x' }]],
    ['a hard link to a file outside', [{ path: 'h', type: 'hardlink' as const, linkpath: '../outside' }]],
    ['a file written through a symlink', [{ path: 'etc', type: 'symlink' as const, linkpath: '/etc' }, { path: 'etc/agora-pwned', content: 'x' }]],
  ])('refuses the whole layer for %s, writing nothing outside', async (_what, entries) => {
    const dir = temp();
    const out = join(dir, 'deep', 'rootfs');
    mkdirSync(out, { recursive: true });
    const file = layerFile(dir, 'evil.tar', makeTar(entries));
    await expect(unpackLayer(file, out)).rejects.toThrow(/unsafe entr/);
    expect(existsSync(join(dir, 'deep', 'escape'))).toBe(false);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
    expect(existsSync('/etc/agora-pwned')).toBe(false);
  });

  it('strips the leading / of absolute entry paths (they stay inside)', async () => {
    const dir = temp();
    const out = join(dir, 'rootfs');
    await unpackLayer(layerFile(dir, 'abs.tar', makeTar([{ path: '/abs/file', content: 'in' }])), out);
    expect(readFileSync(join(out, 'abs/file'), 'utf8')).toBe('in');
  });
});

describe('stacking layers into a rootfs (copy backend)', () => {
  it('applies whiteouts and opaque directories to the layers below, then copies the layer', async () => {
    const dir = temp();
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper');
    await unpackLayer(layerFile(dir, 'lower.tar', makeTar([
      { path: 'etc/motd', content: 'old' },
      { path: 'etc/keep', content: 'keep' },
      { path: 'var/cache/a', content: 'a' },
      { path: 'var/cache/sub/b', content: 'b' },
      { path: 'tmp/', type: 'dir', mode: 0o1777 },
      { path: 'bin/tool', content: 'v1', mode: 0o755 },
    ])), lower);
    const upperWhiteouts = await unpackLayer(layerFile(dir, 'upper.tar', makeTar([
      { path: 'etc/.wh.motd' },
      { path: 'var/cache/.wh..wh..opq' },
      { path: 'var/cache/mine', content: 'mine' },
      { path: 'bin/tool', content: 'v2', mode: 0o700 },
    ])), upper);
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs);
    await applyLayer(lower, { deleted: [], opaque: [] }, rootfs);
    await applyLayer(upper, upperWhiteouts, rootfs);
    expect(existsSync(join(rootfs, 'etc/motd'))).toBe(false);
    expect(readFileSync(join(rootfs, 'etc/keep'), 'utf8')).toBe('keep');
    expect(existsSync(join(rootfs, 'var/cache/a'))).toBe(false);
    expect(existsSync(join(rootfs, 'var/cache/sub'))).toBe(false);
    expect(readFileSync(join(rootfs, 'var/cache/mine'), 'utf8')).toBe('mine');
    expect(readFileSync(join(rootfs, 'bin/tool'), 'utf8')).toBe('v2');
    expect(statSync(join(rootfs, 'bin/tool')).mode & 0o7777).toBe(0o700);
    expect(statSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    // The cached layer directories are untouched.
    expect(readFileSync(join(lower, 'etc/motd'), 'utf8')).toBe('old');
  });

  it('replaces a symlink from a lower layer instead of writing through it', async () => {
    const dir = temp();
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper');
    await unpackLayer(layerFile(dir, 'lower.tar', makeTar([{ path: 'data', type: 'symlink', linkpath: outside }])), lower);
    await unpackLayer(layerFile(dir, 'upper.tar', makeTar([{ path: 'data/file', content: 'x' }])), upper);
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs);
    await applyLayer(lower, { deleted: [], opaque: [] }, rootfs);
    expect(lstatSync(join(rootfs, 'data')).isSymbolicLink()).toBe(true);
    await applyLayer(upper, { deleted: [], opaque: [] }, rootfs);
    expect(lstatSync(join(rootfs, 'data')).isDirectory()).toBe(true);
    expect(existsSync(join(outside, 'file'))).toBe(false);
  });
});
