import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CgroupLayout } from './cgroups.js';
import { detectOciSupport } from './detect.js';

const bin = mkdtempSync(join(tmpdir(), 'agora-detect-bin-'));
const unified = mkdtempSync(join(tmpdir(), 'agora-detect-cg2-'));
afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
  rmSync(unified, { recursive: true, force: true });
});

function executables(...names: string[]): string {
  const dir = mkdtempSync(join(bin, 'set-'));
  for (const name of names) {
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

function hybrid(controllers: string): CgroupLayout {
  writeFileSync(join(unified, 'cgroup.controllers'), controllers);
  return { version: 1, controllers: new Map([['memory', join(unified, 'no-memory')]]), unifiedMount: unified };
}

const failingMount = () => Promise.reject(new Error('mount: permission denied'));

describe('detectOciSupport', () => {
  it('wants root', async () => {
    expect(await detectOciSupport({ isRoot: false, searchPath: [executables('crun', 'conmon')] })).toEqual({
      ok: false,
      reason: expect.stringMatching(/does not run as root/),
    });
  });

  it('wants conmon and an OCI runtime, and says which package is missing', async () => {
    expect(await detectOciSupport({ isRoot: true, searchPath: [executables('crun')], layout: hybrid('') })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/conmon.*apt-get install conmon/),
    });
    expect(await detectOciSupport({ isRoot: true, searchPath: [executables('conmon')], layout: hybrid('') })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/neither crun nor runc/),
    });
  });

  it('takes crun when the cgroup layout suits it, and tini when there is one', async () => {
    const dir = executables('crun', 'runc', 'conmon', 'tini-static');
    const support = await detectOciSupport({ isRoot: true, searchPath: [dir], layout: hybrid('\n') });
    expect(support).toMatchObject({ ok: true, runtime: { name: 'crun' }, init: join(dir, 'tini-static'), notes: [] });
  });

  it('mounts the controllers crun refuses on a hybrid layout, and says so', async () => {
    const mounted: string[] = [];
    const support = await detectOciSupport({
      isRoot: true,
      searchPath: [executables('crun', 'conmon')],
      layout: hybrid('hugetlb\n'),
      mountController: async (controller, target) => void mounted.push(`${controller}@${target}`),
    });
    expect(mounted).toEqual(['hugetlb@/sys/fs/cgroup/hugetlb']);
    expect(support).toMatchObject({ ok: true, runtime: { name: 'crun' } });
    expect(support.ok && support.notes.join()).toMatch(/mounted the hugetlb controller as cgroup v1.*crun refuses a hybrid/);
  });

  it('falls back to runc when the fix cannot be applied, saying why', async () => {
    const support = await detectOciSupport({
      isRoot: true,
      searchPath: [executables('crun', 'runc', 'conmon')],
      layout: hybrid('hugetlb\n'),
      mountController: failingMount,
    });
    expect(support).toMatchObject({ ok: true, runtime: { name: 'runc' } });
    expect(support.ok && support.notes.join()).toMatch(/not using crun: .*hugetlb.*permission denied/);
  });

  it('gives up with both reasons when only crun is installed and the fix fails', async () => {
    const support = await detectOciSupport({
      isRoot: true,
      searchPath: [executables('crun', 'conmon')],
      layout: hybrid('hugetlb\n'),
      mountController: failingMount,
    });
    expect(support).toMatchObject({ ok: false, reason: expect.stringMatching(/not using crun.*runc is not installed/) });
  });

  it('honours --oci_runtime', async () => {
    const dir = executables('crun', 'runc', 'conmon');
    expect(await detectOciSupport({ isRoot: true, runtime: 'runc', searchPath: [dir], layout: hybrid('') })).toMatchObject({
      ok: true,
      runtime: { name: 'runc', path: join(dir, 'runc') },
    });
    expect(await detectOciSupport({ isRoot: true, runtime: '/no/such/runtime', searchPath: [dir], layout: hybrid('') })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/--oci_runtime: '\/no\/such\/runtime'/),
    });
  });
});
