import { describe, expect, it } from 'vitest';
import type { CheckInfo, HealthCheck } from '../../api/index.js';
import { CheckMachine } from './check.js';
import { HealthCheckMachine } from './health.js';
import { checkTiming, healthPolicy } from './policy.js';
import type { ProbeResult } from './results.js';

/**
 * Virtual time for one machine: its one timer and the probe in flight are the only events.
 * `answer(attempt, nowMs)` scripts each probe: its result and how long it takes, or 'hang'.
 */
type Answer = { result: ProbeResult; afterMs?: number } | 'hang';
type Machine = HealthCheckMachine | CheckMachine;
type Effect = ReturnType<Machine['start']>[number];

function simulate(machine: Machine, answer: (attempt: number, nowMs: number) => Answer, untilMs: number): Array<Effect & { atMs: number }> {
  let now = 0;
  let timerAt: number | undefined;
  let inFlight: { attempt: number; atMs: number; result: ProbeResult } | undefined;
  const log: Array<Effect & { atMs: number }> = [];
  const apply = (effects: Effect[]) => {
    for (const effect of effects) {
      log.push({ ...effect, atMs: now });
      if (effect.kind === 'arm') timerAt = effect.atMs;
      else if (effect.kind === 'disarm') timerAt = undefined;
      else if (effect.kind === 'abort' && inFlight?.attempt === effect.attempt) inFlight = undefined;
      else if (effect.kind === 'probe') {
        const a = answer(effect.attempt, now);
        inFlight = a === 'hang' ? undefined : { attempt: effect.attempt, atMs: now + (a.afterMs ?? 0), result: a.result };
      }
    }
  };
  apply(machine.start(0));
  for (;;) {
    // A timer due at the same moment as an answer goes first: the timeout wins a tie.
    const answerFirst = inFlight !== undefined && (timerAt === undefined || inFlight.atMs < timerAt);
    const next = answerFirst ? inFlight!.atMs : timerAt;
    if (next === undefined || next > untilMs) return log;
    now = next;
    if (answerFirst) {
      const { attempt, result } = inFlight!;
      inFlight = undefined;
      apply(machine.probeFinished(attempt, result, now));
    } else {
      timerAt = undefined;
      apply(machine.timerFired(now));
    }
  }
}

const ok: ProbeResult = { type: 'HTTP', statusCode: 200 };
const bad: ProbeResult = { type: 'HTTP', statusCode: 503 };
const http = (extra: Partial<HealthCheck> = {}): HealthCheck => ({ type: 'HTTP', http: { port: 8080, path: '/health' }, ...extra });
const fast = { delay_seconds: 0, interval_seconds: 1, timeout_seconds: 10 };

/** Health updates as "t=<seconds> healthy|unhealthy(n)[ kill]". */
function healthLog(log: Array<Effect & { atMs: number }>): string[] {
  return log.flatMap((e) =>
    e.kind === 'health' ? [`t=${e.atMs / 1000} ${e.healthy ? 'healthy' : `unhealthy(${e.consecutiveFailures})`}${e.kill ? ' kill' : ''}`] : [],
  );
}

function probeTimes(log: Array<Effect & { atMs: number }>): number[] {
  return log.flatMap((e) => (e.kind === 'probe' ? [e.atMs / 1000] : []));
}

describe('health check policy', () => {
  it.each([
    ['absent fields take Mesos defaults', {}, { delayMs: 15_000, intervalMs: 10_000, timeoutMs: 20_000, consecutiveFailures: 3, gracePeriodMs: 10_000 }],
    ['timeout 0 is no timeout', { timeout_seconds: 0 }, { timeoutMs: undefined }],
    [
      'given fields win, in seconds',
      { delay_seconds: 0.5, interval_seconds: 2, timeout_seconds: 1.25, consecutive_failures: 1, grace_period_seconds: 0 },
      { delayMs: 500, intervalMs: 2000, timeoutMs: 1250, consecutiveFailures: 1, gracePeriodMs: 0 },
    ],
  ])('%s', (_name, fields, expected) => {
    expect(healthPolicy(http(fields))).toMatchObject(expected);
  });

  it('checks share the timing defaults', () => {
    expect(checkTiming({ type: 'TCP', tcp: { port: 1 } })).toEqual({ delayMs: 15_000, intervalMs: 10_000, timeoutMs: 20_000 });
  });
});

describe('health check machine', () => {
  it('probes first after delay_seconds, then every interval after the previous probe ended', () => {
    const machine = new HealthCheckMachine(http({ delay_seconds: 15, interval_seconds: 10 }));
    const log = simulate(machine, () => ({ result: ok, afterMs: 2000 }), 60_000);
    expect(probeTimes(log)).toEqual([15, 27, 39, 51]);
    // Only the first success is news.
    expect(healthLog(log)).toEqual(['t=17 healthy']);
  });

  type Case = [name: string, fields: Partial<HealthCheck>, results: string, untilS: number, updates: string[]];
  const cases: Case[] = [
    [
      'reports every failure and the first success after failures',
      { grace_period_seconds: 0, consecutive_failures: 5 },
      'SSFFSSF',
      6,
      ['t=0 healthy', 't=2 unhealthy(1)', 't=3 unhealthy(2)', 't=4 healthy', 't=6 unhealthy(1)'],
    ],
    [
      'kills after consecutive_failures in a row, and stops probing',
      { grace_period_seconds: 0, consecutive_failures: 3 },
      'SFFFFFF',
      10,
      ['t=0 healthy', 't=1 unhealthy(1)', 't=2 unhealthy(2)', 't=3 unhealthy(3) kill'],
    ],
    [
      'a success resets the count',
      { grace_period_seconds: 0, consecutive_failures: 3 },
      'FFSFFSFFF',
      10,
      ['t=0 unhealthy(1)', 't=1 unhealthy(2)', 't=2 healthy', 't=3 unhealthy(1)', 't=4 unhealthy(2)', 't=5 healthy', 't=6 unhealthy(1)', 't=7 unhealthy(2)', 't=8 unhealthy(3) kill'],
    ],
    [
      'ignores failures in the grace period (from the start, delay included)',
      { grace_period_seconds: 5, consecutive_failures: 2 },
      'FFFFFFFFF',
      20,
      ['t=6 unhealthy(1)', 't=7 unhealthy(2) kill'],
    ],
    [
      'ends the grace period at the first success',
      { grace_period_seconds: 60, consecutive_failures: 2 },
      'FFSFF',
      20,
      ['t=2 healthy', 't=3 unhealthy(1)', 't=4 unhealthy(2) kill'],
    ],
    [
      'kills at the first counted failure with consecutive_failures 1 (and 0, as Mesos)',
      { grace_period_seconds: 0, consecutive_failures: 0 },
      'SF',
      10,
      ['t=0 healthy', 't=1 unhealthy(1) kill'],
    ],
  ];
  it.each(cases)('%s', (_name, fields, results, untilS, updates) => {
    const machine = new HealthCheckMachine(http({ ...fast, ...fields }));
    const log = simulate(machine, (attempt) => ({ result: results[attempt - 1] === 'S' ? ok : bad }), untilS * 1000);
    expect(healthLog(log)).toEqual(updates);
  });

  it('notes failures it ignores in the grace period', () => {
    const machine = new HealthCheckMachine(http({ ...fast, grace_period_seconds: 1 }));
    const log = simulate(machine, () => ({ result: { type: 'failed', message: 'connect ECONNREFUSED 127.0.0.1:8080' } }), 1000);
    expect(log.filter((e) => e.kind === 'note').map((e) => (e as { message: string }).message)).toEqual([
      'Ignoring a failed health check in the grace period: HTTP GET http://127.0.0.1:8080/health failed: connect ECONNREFUSED 127.0.0.1:8080',
      'Ignoring a failed health check in the grace period: HTTP GET http://127.0.0.1:8080/health failed: connect ECONNREFUSED 127.0.0.1:8080',
    ]);
  });

  it('fails a probe that outlives timeout_seconds, aborts it, and probes again an interval later', () => {
    const machine = new HealthCheckMachine(http({ delay_seconds: 0, interval_seconds: 1, timeout_seconds: 2, grace_period_seconds: 0 }));
    const log = simulate(machine, (attempt) => (attempt === 1 ? 'hang' : { result: ok }), 3500);
    expect(log.filter((e) => e.kind !== 'arm').map((e) => `${e.atMs / 1000} ${e.kind}`)).toEqual(['0 probe', '2 health', '2 abort', '3 probe', '3 health']);
    expect(log.find((e) => e.kind === 'health')).toMatchObject({
      healthy: false,
      message: 'HTTP GET http://127.0.0.1:8080/health did not finish within 2 s',
    });
  });

  it('ignores an answer that comes after its timeout', () => {
    const machine = new HealthCheckMachine(http({ delay_seconds: 0, interval_seconds: 10, timeout_seconds: 1, grace_period_seconds: 0 }));
    expect(machine.start(0)).toEqual([{ kind: 'arm', atMs: 0 }]);
    expect(machine.timerFired(0)).toEqual([expect.objectContaining({ kind: 'probe', attempt: 1 }), { kind: 'arm', atMs: 1000 }]);
    expect(machine.timerFired(1000).map((e) => e.kind)).toEqual(['health', 'abort', 'arm']);
    expect(machine.probeFinished(1, ok, 1500)).toEqual([]);
    expect(machine.consecutiveFailures).toBe(1);
  });

  it('waits forever for a probe with timeout_seconds 0', () => {
    const machine = new HealthCheckMachine(http({ delay_seconds: 0, timeout_seconds: 0, grace_period_seconds: 0 }));
    const log = simulate(machine, () => 'hang', 3_600_000);
    expect(log.map((e) => e.kind)).toEqual(['arm', 'probe']);
  });

  it('stops on pause: the timer is disarmed, the probe in flight aborted and its answer ignored', () => {
    const machine = new HealthCheckMachine(http(fast));
    machine.start(0);
    machine.timerFired(0);
    expect(machine.pause()).toEqual([{ kind: 'disarm' }, { kind: 'abort', attempt: 1 }]);
    expect(machine.probeFinished(1, bad, 100)).toEqual([]);
    expect(machine.timerFired(200)).toEqual([]);
    expect(machine.resume(300)).toEqual([{ kind: 'arm', atMs: 300 }]);
  });

  it('does not resume after it asked for the kill', () => {
    const machine = new HealthCheckMachine(http({ ...fast, grace_period_seconds: 0, consecutive_failures: 1 }));
    machine.start(0);
    machine.timerFired(0);
    expect(machine.probeFinished(1, bad, 10)).toEqual([expect.objectContaining({ kind: 'health', kill: true }), { kind: 'disarm' }]);
    expect(machine.resume(20)).toEqual([]);
  });

  it.each([
    ['COMMAND exit 0', { type: 'COMMAND', command: { value: 'true' } }, { type: 'COMMAND', exitCode: 0 }, true],
    ['COMMAND exit 1', { type: 'COMMAND', command: { value: 'false' } }, { type: 'COMMAND', exitCode: 1, output: 'nope' }, false],
    ['HTTP 399', { type: 'HTTP', http: { port: 1 } }, { type: 'HTTP', statusCode: 399 }, true],
    ['HTTP 400', { type: 'HTTP', http: { port: 1 } }, { type: 'HTTP', statusCode: 400 }, false],
    ['HTTP 199', { type: 'HTTP', http: { port: 1 } }, { type: 'HTTP', statusCode: 199 }, false],
    ['TCP connected', { type: 'TCP', tcp: { port: 1 } }, { type: 'TCP', succeeded: true }, true],
    ['TCP refused', { type: 'TCP', tcp: { port: 1 } }, { type: 'TCP', succeeded: false, message: 'ECONNREFUSED' }, false],
  ] as const)('%s is %s', (_name, hc, result, healthy) => {
    const machine = new HealthCheckMachine({ ...(hc as HealthCheck), ...fast, grace_period_seconds: 0, consecutive_failures: 9 });
    const log = simulate(machine, () => ({ result: result as ProbeResult }), 0);
    expect(log.find((e) => e.kind === 'health')).toMatchObject({ healthy });
  });
});

describe('check machine', () => {
  const tcp: CheckInfo = { type: 'TCP', tcp: { port: 5432 }, delay_seconds: 0, interval_seconds: 1, timeout_seconds: 2 };

  it('has an empty status of its type before any result', () => {
    expect(new CheckMachine({ type: 'COMMAND', command: { command: { value: 'true' } } }).status).toEqual({ type: 'COMMAND', command: {} });
    expect(new CheckMachine({ type: 'HTTP', http: { port: 80 } }).status).toEqual({ type: 'HTTP', http: {} });
    expect(new CheckMachine(tcp).status).toEqual({ type: 'TCP', tcp: {} });
  });

  type Case = [name: string, check: CheckInfo, results: Answer[], statuses: unknown[]];
  const cases: Case[] = [
    [
      'reports a COMMAND check exit code only when it changes',
      { type: 'COMMAND', command: { command: { value: 'x' } }, delay_seconds: 0, interval_seconds: 1 },
      [0, 0, 1, 1, 0].map((exitCode) => ({ result: { type: 'COMMAND', exitCode } })),
      [{ exit_code: 0 }, { exit_code: 1 }, { exit_code: 0 }].map((command) => ({ type: 'COMMAND', command })),
    ],
    [
      'reports an HTTP status code, and an empty status when no answer came',
      { type: 'HTTP', http: { port: 80, path: '/ready' }, delay_seconds: 0, interval_seconds: 1 },
      [
        { result: { type: 'HTTP', statusCode: 200 } },
        { result: { type: 'HTTP', statusCode: 503 } },
        { result: { type: 'failed', message: 'connect ECONNREFUSED' } },
        { result: { type: 'failed', message: 'connect ECONNREFUSED' } },
        { result: { type: 'HTTP', statusCode: 200 } },
      ],
      [{ status_code: 200 }, { status_code: 503 }, {}, { status_code: 200 }].map((h) => ({ type: 'HTTP', http: h })),
    ],
    [
      'reports whether a TCP connection succeeded; a timeout empties the status',
      tcp,
      [{ result: { type: 'TCP', succeeded: false } }, { result: { type: 'TCP', succeeded: true } }, 'hang', { result: { type: 'TCP', succeeded: true } }],
      [{ succeeded: false }, { succeeded: true }, {}, { succeeded: true }].map((t) => ({ type: 'TCP', tcp: t })),
    ],
  ];
  it.each(cases)('%s', (_name, check, results, statuses) => {
    const machine = new CheckMachine(check);
    const log = simulate(machine, (attempt) => results[Math.min(attempt, results.length) - 1]!, 20_000);
    expect(log.flatMap((e) => (e.kind === 'checkStatus' ? [e.status] : []))).toEqual(statuses);
    expect(machine.status).toEqual(statuses.at(-1));
  });

  it('never asks for a kill, however often it fails', () => {
    const machine = new CheckMachine({ ...tcp, interval_seconds: 0 });
    const log = simulate(machine, () => ({ result: { type: 'TCP', succeeded: false }, afterMs: 1 }), 1000);
    expect(log.filter((e) => e.kind === 'probe').length).toBeGreaterThan(500);
    expect(log.some((e) => e.kind === 'disarm')).toBe(false);
  });
});
