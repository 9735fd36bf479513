import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryStatistics, oomRecord } from '../isolators/cgroups/mem.js';
import { cpuStatistics } from '../isolators/cgroups/cpu.js';
import { hybridControllers } from './detect.js';
import { cgroupDir, layoutOf, parseCgroupMounts } from './cgroups.js';

// mountinfo of a systemd "hybrid" machine like the one agora is developed on.
const HYBRID = [
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw',
  '33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct',
  '34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory',
  '35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids',
  '36 30 0:32 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd',
].join('\n');

const UNIFIED = '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate';

describe('cgroup layout', () => {
  it('finds each v1 controller, co-mounted ones too, and the cgroup2 beside them', () => {
    const layout = layoutOf(parseCgroupMounts(HYBRID));
    expect(layout?.version).toBe(1);
    expect(cgroupDir(layout!, 'cpuacct', '/agora/c1')).toBe('/sys/fs/cgroup/cpu,cpuacct/agora/c1');
    expect(cgroupDir(layout!, 'memory', '/agora/c1')).toBe('/sys/fs/cgroup/memory/agora/c1');
    expect(cgroupDir(layout!, 'hugetlb', '/agora/c1')).toBeUndefined();
    expect(layout?.version === 1 && layout.unifiedMount).toBe('/sys/fs/cgroup/unified');
  });

  it('recognises v2 when cgroup2 is mounted at /sys/fs/cgroup', () => {
    const layout = layoutOf(parseCgroupMounts(UNIFIED));
    expect(layout).toEqual({ version: 2, unifiedMount: '/sys/fs/cgroup' });
    expect(cgroupDir(layout!, 'memory', '/agora/c1')).toBe('/sys/fs/cgroup/agora/c1');
  });

  it("names the controllers crun refuses on a hybrid layout: those left in the cgroup2's cgroup.controllers", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-cgroups-'));
    writeFileSync(join(dir, 'cgroup.controllers'), 'hugetlb\n');
    const hybrid = { version: 1 as const, controllers: new Map([['memory', '/x']]), unifiedMount: dir };
    expect(await hybridControllers(hybrid)).toEqual(['hugetlb']);
    writeFileSync(join(dir, 'cgroup.controllers'), '\n');
    expect(await hybridControllers(hybrid)).toEqual([]);
    expect(await hybridControllers({ version: 2, unifiedMount: dir })).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('usage read from cgroup files', () => {
  function fakeHierarchy(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'agora-cgfs-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  it('v1: cpuacct ticks, throttling, memory.stat totals and the OOM counter', async () => {
    const root = fakeHierarchy({
      'cpuacct/agora/c1/cpuacct.stat': 'user 150\nsystem 25\n',
      'cpu/agora/c1/cpu.stat': 'nr_periods 10\nnr_throttled 4\nthrottled_time 2000000000\n',
      'memory/agora/c1/memory.usage_in_bytes': '1048576\n',
      'memory/agora/c1/memory.limit_in_bytes': '33554432\n',
      'memory/agora/c1/memory.stat': 'rss 1\ntotal_rss 4096\ntotal_cache 8192\ntotal_mapped_file 0\n',
      'memory/agora/c1/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
      'memory/agora/c1/memory.max_usage_in_bytes': '33554432\n',
    });
    const layout = {
      version: 1 as const,
      controllers: new Map(['cpu', 'cpuacct', 'memory'].map((c) => [c, join(root, c)])),
    };
    expect(await cpuStatistics(layout, '/agora/c1')).toEqual({
      cpus_user_time_secs: 1.5,
      cpus_system_time_secs: 0.25,
      cpus_nr_periods: 10,
      cpus_nr_throttled: 4,
      cpus_throttled_time_secs: 2,
    });
    expect(await memoryStatistics(layout, '/agora/c1')).toMatchObject({
      mem_limit_bytes: 33554432,
      mem_total_bytes: 1048576,
      mem_rss_bytes: 4096,
      mem_cache_bytes: 8192,
    });
    expect(await oomRecord(layout, '/agora/c1')).toEqual({ oomKills: 1, peakBytes: 33554432 });
    rmSync(root, { recursive: true, force: true });
  });

  it('v2: cpu.stat in microseconds, memory.current/max and memory.events', async () => {
    const root = fakeHierarchy({
      'agora/c1/cpu.stat': 'usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 5\nnr_throttled 1\nthrottled_usec 500000\n',
      'agora/c1/memory.current': '2097152\n',
      'agora/c1/memory.max': 'max\n',
      'agora/c1/memory.stat': 'anon 1024\nfile 2048\nfile_mapped 512\n',
      'agora/c1/memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    });
    const layout = { version: 2 as const, unifiedMount: root };
    expect(await cpuStatistics(layout, '/agora/c1')).toMatchObject({ cpus_user_time_secs: 2, cpus_system_time_secs: 1, cpus_throttled_time_secs: 0.5 });
    const memory = await memoryStatistics(layout, '/agora/c1');
    expect(memory).toMatchObject({ mem_total_bytes: 2097152, mem_anon_bytes: 1024, mem_file_bytes: 2048 });
    expect(memory.mem_limit_bytes).toBeUndefined();
    expect(await oomRecord(layout, '/agora/c1')).toEqual({ oomKills: 1 });
    rmSync(root, { recursive: true, force: true });
  });
});
