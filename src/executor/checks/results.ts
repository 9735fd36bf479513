/**
 * What a probe answered, and what that means: healthy or not for a HealthCheck, the
 * CheckStatusInfo for a CheckInfo (facts 8.6). Pure.
 */
import type { CheckStatusInfo, CheckType } from '../../api/index.js';
import { describeProbe, type Probe } from './policy.js';

/**
 * One probe's outcome. `failed`: no answer could be had (the command could not start or died of
 * a signal, the HTTP request got no response); a timeout is decided by the schedule, not here.
 */
export type ProbeResult =
  | { type: 'COMMAND'; exitCode: number; /** The tail of what it printed, for messages. */ output?: string }
  | { type: 'HTTP'; statusCode: number }
  | { type: 'TCP'; succeeded: boolean; /** Why it did not connect. */ message?: string }
  | { type: 'failed'; message: string };

export type Health = { healthy: true } | { healthy: false; message: string };

/** Built-in executors' rule: exit status 0, HTTP 200-399 (after redirects), or a TCP connection. */
export function healthOf(probe: Probe, result: ProbeResult): Health {
  const what = describeProbe(probe);
  switch (result.type) {
    case 'COMMAND': {
      if (result.exitCode === 0) return { healthy: true };
      const output = result.output === undefined || result.output === '' ? '' : `: ${result.output}`;
      return { healthy: false, message: `${what} exited with status ${result.exitCode}${output}` };
    }
    case 'HTTP':
      if (result.statusCode >= 200 && result.statusCode < 400) return { healthy: true };
      return { healthy: false, message: `${what} answered ${result.statusCode}` };
    case 'TCP':
      return result.succeeded ? { healthy: true } : { healthy: false, message: `${what} failed${result.message === undefined ? '' : `: ${result.message}`}` };
    case 'failed':
      return { healthy: false, message: `${what} failed: ${result.message}` };
  }
}

/** The CheckStatusInfo a check reports before its first result, and after a failed or timed-out probe. */
export function emptyCheckStatus(type: Exclude<CheckType, 'UNKNOWN'>): CheckStatusInfo {
  switch (type) {
    case 'COMMAND':
      return { type, command: {} };
    case 'HTTP':
      return { type, http: {} };
    case 'TCP':
      return { type, tcp: {} };
  }
}

export function checkStatusOf(probe: Probe, result: ProbeResult): CheckStatusInfo {
  switch (result.type) {
    case 'COMMAND':
      return { type: 'COMMAND', command: { exit_code: result.exitCode } };
    case 'HTTP':
      return { type: 'HTTP', http: { status_code: result.statusCode } };
    case 'TCP':
      return { type: 'TCP', tcp: { succeeded: result.succeeded } };
    case 'failed':
      return emptyCheckStatus(probe.type);
  }
}

export function sameCheckStatus(a: CheckStatusInfo, b: CheckStatusInfo): boolean {
  return (
    a.type === b.type &&
    a.command?.exit_code === b.command?.exit_code &&
    a.http?.status_code === b.http?.status_code &&
    a.tcp?.succeeded === b.tcp?.succeeded &&
    (a.command === undefined) === (b.command === undefined) &&
    (a.http === undefined) === (b.http === undefined) &&
    (a.tcp === undefined) === (b.tcp === undefined)
  );
}
