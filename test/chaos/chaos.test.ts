/**
 * The chaos test at CI size: a short seeded run on a real three-member etcd, HA masters and
 * agents, with frameworks launching and killing tasks while agents, the leading master and an
 * etcd member are killed with SIGKILL and restarted. Bigger by hand:
 *   CHAOS_SECONDS=120 CHAOS_SEED=7 npx vitest run test/chaos/chaos.test.ts
 * (also CHAOS_AGENTS, CHAOS_MASTERS, CHAOS_FRAMEWORKS, CHAOS_FAULT_GAP_MS, CHAOS_REPORT=file.json).
 */
import { describe, expect, it } from 'vitest';
import { etcdUnavailable } from '../support/etcd.js';
import { runChaos } from './runner.js';

const unavailable = await etcdUnavailable();
if (unavailable !== undefined) console.log(`skipping the chaos test: ${unavailable}`);

const env = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${raw}: expected a whole number, e.g. ${name}=${fallback}`);
  return value;
};
const seconds = env('CHAOS_SECONDS', 15);

describe.skipIf(unavailable !== undefined)('chaos', () => {
  it(
    'every task ends once or runs on a live agent, runs once, moves forward, and nothing acknowledged comes back as new',
    async () => {
      const report = await runChaos({
        seed: env('CHAOS_SEED', 1),
        seconds,
        masters: env('CHAOS_MASTERS', 2),
        agents: env('CHAOS_AGENTS', 3),
        frameworks: env('CHAOS_FRAMEWORKS', 4),
        meanFaultGapMs: env('CHAOS_FAULT_GAP_MS', 2_500),
        ...(process.env['CHAOS_REPORT'] ? { reportFile: process.env['CHAOS_REPORT'] } : {}),
      });
      expect(report.tasks.launched).toBeGreaterThan(0);
      expect(report.actions.some((a) => a.what.startsWith('kill -9'))).toBe(true);
      expect(report.restartFailures).toEqual([]);
      expect(report.unanswered).toEqual([]);
      expect(report.violations).toEqual([]);
    },
    // Faults, then up to ~90 s to settle, reconcile and stop.
    (seconds + 120) * 1000,
  );
});
