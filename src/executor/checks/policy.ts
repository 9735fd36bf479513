/**
 * When and what to check: Mesos's defaults for absent fields (facts 8.6) and the probe a
 * HealthCheck or CheckInfo describes. Pure.
 */
import type { CheckInfo, CommandInfo, HealthCheck } from '../../api/index.js';

export const DEFAULT_DELAY_SECONDS = 15;
export const DEFAULT_INTERVAL_SECONDS = 10;
export const DEFAULT_TIMEOUT_SECONDS = 20;
export const DEFAULT_CONSECUTIVE_FAILURES = 3;
export const DEFAULT_GRACE_PERIOD_SECONDS = 10;

/** The timing every check shares. */
export interface CheckTiming {
  /** From the start (the task is running) to the first probe. */
  delayMs: number;
  /** From the end of one probe (answered or timed out) to the start of the next. */
  intervalMs: number;
  /** How long a probe may take; undefined: forever (timeout_seconds 0). */
  timeoutMs: number | undefined;
}

export interface HealthPolicy extends CheckTiming {
  /** Failures in a row that get the task killed. */
  consecutiveFailures: number;
  /** From the start (delay included): failures are ignored until then, or until the first success. */
  gracePeriodMs: number;
}

/** What one probe does. The host is always the task's own loopback (127.0.0.1, or ::1 for IPv6). */
export type Probe =
  | { type: 'COMMAND'; command: CommandInfo }
  | { type: 'HTTP'; scheme: 'http' | 'https'; host: '127.0.0.1' | '::1'; port: number; path: string }
  | { type: 'TCP'; host: '127.0.0.1' | '::1'; port: number };

export function healthPolicy(hc: HealthCheck): HealthPolicy {
  return {
    ...timing(hc),
    consecutiveFailures: hc.consecutive_failures ?? DEFAULT_CONSECUTIVE_FAILURES,
    gracePeriodMs: secondsToMs(hc.grace_period_seconds ?? DEFAULT_GRACE_PERIOD_SECONDS),
  };
}

export function checkTiming(check: CheckInfo): CheckTiming {
  return timing(check);
}

/** The probe of a validated HealthCheck (api's ValidHealthCheck). */
export function healthProbe(hc: HealthCheck): Probe {
  switch (hc.type) {
    case 'COMMAND':
      return { type: 'COMMAND', command: hc.command! };
    case 'HTTP': {
      const http = hc.http!;
      const scheme = http.scheme === 'https' ? 'https' : 'http';
      return { type: 'HTTP', scheme, host: loopback(http.protocol), port: http.port, path: http.path ?? '' };
    }
    case 'TCP':
      return { type: 'TCP', host: loopback(hc.tcp!.protocol), port: hc.tcp!.port };
    default:
      throw new TypeError(`health check type ${String(hc.type)} cannot be run; validate it first`);
  }
}

/** The probe of a validated CheckInfo (api's ValidCheckInfo). */
export function checkProbe(check: CheckInfo): Probe {
  switch (check.type) {
    case 'COMMAND':
      return { type: 'COMMAND', command: check.command!.command };
    case 'HTTP':
      return { type: 'HTTP', scheme: 'http', host: '127.0.0.1', port: check.http!.port, path: check.http!.path ?? '' };
    case 'TCP':
      return { type: 'TCP', host: '127.0.0.1', port: check.tcp!.port };
    default:
      throw new TypeError(`check type ${String(check.type)} cannot be run; validate it first`);
  }
}

/** "HTTP GET http://127.0.0.1:8080/health", "TCP connect to 127.0.0.1:5432", "command 'test -f ready'". */
export function describeProbe(probe: Probe): string {
  switch (probe.type) {
    case 'COMMAND': {
      const { command } = probe;
      const text = command.shell === false ? [command.value ?? '', ...(command.arguments ?? []).slice(1)].join(' ') : (command.value ?? '');
      return `command '${text}'`;
    }
    case 'HTTP':
      return `HTTP GET ${probeUrl(probe)}`;
    case 'TCP':
      return `TCP connect to ${hostPort(probe.host, probe.port)}`;
  }
}

export function probeUrl(probe: Extract<Probe, { type: 'HTTP' }>): string {
  return `${probe.scheme}://${hostPort(probe.host, probe.port)}${probe.path}`;
}


function timing(check: { delay_seconds?: number | undefined; interval_seconds?: number | undefined; timeout_seconds?: number | undefined }): CheckTiming {
  const timeoutSeconds = check.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS;
  return {
    delayMs: secondsToMs(check.delay_seconds ?? DEFAULT_DELAY_SECONDS),
    intervalMs: secondsToMs(check.interval_seconds ?? DEFAULT_INTERVAL_SECONDS),
    timeoutMs: timeoutSeconds > 0 ? secondsToMs(timeoutSeconds) : undefined,
  };
}

function secondsToMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

function loopback(protocol: 'IPv4' | 'IPv6' | undefined): '127.0.0.1' | '::1' {
  return protocol === 'IPv6' ? '::1' : '127.0.0.1';
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
