import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../base/index.js';
import type { CheckStatusInfo } from '../../api/index.js';
import { runCheck, runHealthCheck, type CheckTimers, type RunProbe } from './driver.js';
import type { HealthUpdate } from './health.js';
import type { ProbeResult } from './results.js';

/** Timers on a ManualClock: advance() fires what is due, in time order. */
class FakeTimers implements CheckTimers {
  private readonly due = new Map<number, { atMs: number; callback: () => void }>();
  private nextId = 1;

  constructor(readonly clock: ManualClock) {}

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.due.set(id, { atMs: this.clock.monotonicMs() + delayMs, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  get pending(): number {
    return this.due.size;
  }

  async advance(ms: number): Promise<void> {
    const end = this.clock.monotonicMs() + ms;
    for (;;) {
      await flush();
      const [id, next] = [...this.due.entries()].sort((a, b) => a[1].atMs - b[1].atMs)[0] ?? [];
      if (next === undefined || next.atMs > end) break;
      this.clock.advanceMs(next.atMs - this.clock.monotonicMs());
      this.due.delete(id!);
      next.callback();
    }
    this.clock.advanceMs(end - this.clock.monotonicMs());
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function setup(results: Array<ProbeResult | 'hang'>) {
  const clock = new ManualClock();
  const timers = new FakeTimers(clock);
  const aborted: number[] = [];
  let calls = 0;
  const runProbe: RunProbe = (_probe, signal) => {
    const result = results[Math.min(calls++, results.length - 1)]!;
    const attempt = calls;
    signal.addEventListener('abort', () => aborted.push(attempt));
    return result === 'hang' ? new Promise(() => undefined) : Promise.resolve(result);
  };
  return { clock, timers, aborted, runProbe, calls: () => calls };
}

const ok: ProbeResult = { type: 'TCP', succeeded: true };
const refused: ProbeResult = { type: 'TCP', succeeded: false, message: 'ECONNREFUSED' };

describe('driver', () => {
  it('runs a health check on its timer and reports updates, then stops probing after the kill', async () => {
    const world = setup([ok, refused]);
    const updates: HealthUpdate[] = [];
    runHealthCheck({
      healthCheck: { type: 'TCP', tcp: { port: 5432 }, delay_seconds: 1, interval_seconds: 2, grace_period_seconds: 0, consecutive_failures: 2 },
      runProbe: world.runProbe,
      clock: world.clock,
      timers: world.timers,
      onUpdate: (u) => updates.push(u),
    });
    await world.timers.advance(999);
    expect(world.calls()).toBe(0);
    await world.timers.advance(1);
    expect(updates).toEqual([{ kind: 'health', healthy: true, consecutiveFailures: 0, kill: false }]);
    await world.timers.advance(60_000);
    expect(updates.slice(1)).toEqual([
      { kind: 'health', healthy: false, consecutiveFailures: 1, kill: false, message: 'TCP connect to 127.0.0.1:5432 failed: ECONNREFUSED' },
      { kind: 'health', healthy: false, consecutiveFailures: 2, kill: true, message: 'TCP connect to 127.0.0.1:5432 failed: ECONNREFUSED' },
    ]);
    expect(world.calls()).toBe(3);
    expect(world.timers.pending).toBe(0);
  });

  it('aborts a probe that times out and counts it as a failure', async () => {
    const world = setup(['hang', ok]);
    const updates: HealthUpdate[] = [];
    runHealthCheck({
      healthCheck: { type: 'TCP', tcp: { port: 1 }, delay_seconds: 0, interval_seconds: 1, timeout_seconds: 3, grace_period_seconds: 0 },
      runProbe: world.runProbe,
      clock: world.clock,
      timers: world.timers,
      onUpdate: (u) => updates.push(u),
    });
    await world.timers.advance(3000);
    expect(world.aborted).toEqual([1]);
    expect(updates.map((u) => u.healthy)).toEqual([false]);
    await world.timers.advance(1000);
    expect(updates.map((u) => u.healthy)).toEqual([false, true]);
  });

  it('runs a check and keeps its latest status; pause and stop end the probing', async () => {
    const world = setup([refused, ok]);
    const statuses: CheckStatusInfo[] = [];
    const notes: string[] = [];
    const handle = runCheck({
      check: { type: 'TCP', tcp: { port: 80 }, delay_seconds: 0, interval_seconds: 5 },
      runProbe: world.runProbe,
      clock: world.clock,
      timers: world.timers,
      onStatus: (s) => statuses.push(s),
      onNote: (n) => notes.push(n),
    });
    expect(handle.status).toEqual({ type: 'TCP', tcp: {} });
    await world.timers.advance(0);
    expect(handle.status).toEqual({ type: 'TCP', tcp: { succeeded: false } });
    handle.pause();
    await world.timers.advance(60_000);
    expect(world.calls()).toBe(1);
    handle.resume();
    await world.timers.advance(0);
    expect(statuses).toEqual([
      { type: 'TCP', tcp: { succeeded: false } },
      { type: 'TCP', tcp: { succeeded: true } },
    ]);
    handle.stop();
    await world.timers.advance(60_000);
    expect(world.calls()).toBe(2);
    expect(notes).toEqual([]);
  });

  it('turns a runner that throws into a failed probe', async () => {
    const clock = new ManualClock();
    const timers = new FakeTimers(clock);
    const statuses: CheckStatusInfo[] = [];
    const notes: string[] = [];
    runCheck({
      check: { type: 'HTTP', http: { port: 80 }, delay_seconds: 0 },
      runProbe: () => {
        throw new Error('no such process');
      },
      clock,
      timers,
      onStatus: (s) => statuses.push(s),
      onNote: (n) => notes.push(n),
    });
    await timers.advance(0);
    expect(statuses).toEqual([]);
    expect(notes).toEqual(['Check HTTP GET http://127.0.0.1:80 failed: no such process']);
  });
});
