import { describe, expect, it } from 'vitest';
import { invalidTaskChecks, parseCheckInfo, parseHealthCheck } from './checks.js';

describe('HealthCheck validation', () => {
  it.each([
    ['an HTTP check with defaults', { type: 'HTTP', http: { port: 8080 } }],
    ['an HTTPS check with a path', { type: 'HTTP', http: { scheme: 'https', port: '443', path: '/health' }, delay_seconds: '0.5' }],
    ['a COMMAND check', { type: 'COMMAND', command: { value: 'test -f ready', environment: { variables: [{ name: 'A', value: '1' }] } } }],
    ['a TCP check with every timing', { type: 'TCP', tcp: { port: 5432 }, delay_seconds: 0, interval_seconds: 1, timeout_seconds: 0, consecutive_failures: 0, grace_period_seconds: 0 }],
  ])('accepts %s', (_name, value) => {
    expect(parseHealthCheck(value)).toHaveProperty('value');
  });

  it.each([
    ['no type', { http: { port: 80 } }, "health_check.type: required field is missing: a health check must say its type (COMMAND, HTTP or TCP)"],
    ['type UNKNOWN', { type: 'UNKNOWN' }, "health_check.type: 'UNKNOWN' is not a valid health check type; use COMMAND, HTTP or TCP"],
    ['a type that does not exist', { type: 'PING' }, 'health_check.type: Invalid option: expected one of "UNKNOWN"|"COMMAND"|"HTTP"|"TCP"'],
    ['HTTP without http', { type: 'HTTP', tcp: { port: 80 } }, "health_check.http: required field is missing: a HTTP health check needs 'http'"],
    ['HTTP without a port', { type: 'HTTP', http: { path: '/' } }, 'health_check.http.port: required field is missing'],
    ['a port out of range', { type: 'HTTP', http: { port: 70000 } }, 'health_check.http.port: must be a TCP port (1-65535), not 70000'],
    ['a path without a slash', { type: 'HTTP', http: { port: 80, path: 'health' } }, "health_check.http.path: must start with '/' (got 'health')"],
    ['an ftp scheme', { type: 'HTTP', http: { port: 80, scheme: 'ftp' } }, 'health_check.http.scheme: must be "http" or "https", not "ftp"'],
    ['COMMAND without a value', { type: 'COMMAND', command: { shell: true } }, 'health_check.command.value: required field is missing: the shell command to run'],
    [
      'a secret in the environment',
      { type: 'COMMAND', command: { value: 'x', environment: { variables: [{ name: 'PW', type: 'SECRET', secret: {} }] } } },
      "health_check.command.environment.variables[0]: 'PW' is a SECRET, which checks cannot resolve; give it a value",
    ],
    ['TCP without tcp', { type: 'TCP' }, "health_check.tcp: required field is missing: a TCP health check needs 'tcp'"],
    ['a negative delay', { type: 'TCP', tcp: { port: 1 }, delay_seconds: -1 }, 'health_check.delay_seconds: must be a non-negative number of seconds, not -1'],
    ['a negative grace period', { type: 'TCP', tcp: { port: 1 }, grace_period_seconds: -0.5 }, 'health_check.grace_period_seconds: must be a non-negative number of seconds, not -0.5'],
    ['negative consecutive failures', { type: 'TCP', tcp: { port: 1 }, consecutive_failures: -2 }, 'health_check.consecutive_failures: must not be negative, not -2'],
    ['a non-numeric interval', { type: 'TCP', tcp: { port: 1 }, interval_seconds: 'often' }, 'health_check.interval_seconds: Invalid input'],
  ])('refuses %s, naming the field', (_name, value, error) => {
    expect(parseHealthCheck(value)).toEqual({ error });
  });
});

describe('CheckInfo validation', () => {
  it.each([
    ['a COMMAND check', { type: 'COMMAND', command: { command: { value: 'true' } } }],
    ['an HTTP check', { type: 'HTTP', http: { port: 80, path: '/ready' } }],
    ['a TCP check', { type: 'TCP', tcp: { port: 80 }, timeout_seconds: 0 }],
  ])('accepts %s', (_name, value) => {
    expect(parseCheckInfo(value)).toHaveProperty('value');
  });

  it.each([
    ['COMMAND without command.command', { type: 'COMMAND', command: {} }, 'check.command.command: required field is missing'],
    ['COMMAND with an empty value', { type: 'COMMAND', command: { command: { value: '' } } }, 'check.command.command.value: required field is missing: the shell command to run'],
    ['HTTP with a relative path', { type: 'HTTP', http: { port: 80, path: 'x' } }, "check.http.path: must start with '/' (got 'x')"],
    ['a negative timeout', { type: 'TCP', tcp: { port: 1 }, timeout_seconds: -3 }, 'check.timeout_seconds: must be a non-negative number of seconds, not -3'],
  ])('refuses %s, naming the field', (_name, value, error) => {
    expect(parseCheckInfo(value)).toEqual({ error });
  });
});

describe('invalidTaskChecks', () => {
  it('says which of the task fields is wrong, or nothing', () => {
    expect(invalidTaskChecks({})).toBeUndefined();
    expect(invalidTaskChecks({ health_check: { type: 'TCP', tcp: { port: 1 } }, check: { type: 'TCP', tcp: { port: 2 } } })).toBeUndefined();
    expect(invalidTaskChecks({ health_check: { type: 'HTTP' } })).toBe(
      "Task uses an invalid health check: health_check.http: required field is missing: a HTTP health check needs 'http'",
    );
    expect(invalidTaskChecks({ check: { type: 'TCP', tcp: { port: 0 } } })).toBe('Task uses an invalid check: check.tcp.port: must be a TCP port (1-65535), not 0');
  });
});
