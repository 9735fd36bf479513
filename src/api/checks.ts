/**
 * Health checks and checks on the wire (facts 8.6): HealthCheck, CheckInfo and CheckStatusInfo,
 * and Mesos's validation of the first two (common/validation.cpp), with errors that name the field.
 */
import { z } from 'zod';
import { CommandInfo } from './common.js';
import { double, int } from './decode.js';

export const CHECK_TYPES = ['UNKNOWN', 'COMMAND', 'HTTP', 'TCP'] as const;
export const CheckType = z.enum(CHECK_TYPES);
export type CheckType = z.infer<typeof CheckType>;

const Protocol = z.enum(['IPv4', 'IPv6']);

export const HealthCheck = z.object({
  type: CheckType.optional(),
  command: CommandInfo.optional(),
  http: z
    .object({
      protocol: Protocol.optional(),
      /** "http" (default) or "https". */
      scheme: z.string().optional(),
      port: int,
      path: z.string().optional(),
      /** Kept for custom executors; the built-in ones (and agora) treat 200-399 as healthy. */
      statuses: z.array(int).optional(),
    })
    .optional(),
  tcp: z.object({ protocol: Protocol.optional(), port: int }).optional(),
  delay_seconds: double.optional(),
  interval_seconds: double.optional(),
  timeout_seconds: double.optional(),
  consecutive_failures: int.optional(),
  grace_period_seconds: double.optional(),
});
export type HealthCheck = z.infer<typeof HealthCheck>;

export const CheckInfo = z.object({
  type: CheckType.optional(),
  command: z.object({ command: CommandInfo }).optional(),
  http: z.object({ port: int, path: z.string().optional() }).optional(),
  tcp: z.object({ port: int }).optional(),
  delay_seconds: double.optional(),
  interval_seconds: double.optional(),
  timeout_seconds: double.optional(),
});
export type CheckInfo = z.infer<typeof CheckInfo>;

/**
 * The result of a check, in TaskStatus.check_status. Only the member of `type` is set; it is
 * empty (`{}`) until the check has a result, and again after a check that timed out or failed.
 */
export const CheckStatusInfo = z.object({
  type: CheckType.optional(),
  command: z.object({ exit_code: int.optional() }).optional(),
  http: z.object({ status_code: int.optional() }).optional(),
  tcp: z.object({ succeeded: z.boolean().optional() }).optional(),
});
export type CheckStatusInfo = z.infer<typeof CheckStatusInfo>;

type Refinement = z.RefinementCtx;

const SECONDS_FIELDS = ['delay_seconds', 'interval_seconds', 'timeout_seconds', 'grace_period_seconds'] as const;

/** Mesos's rules for the members both messages share: a known type, its member set, no negative times. */
function refineCommon(
  value: { type?: CheckType | undefined } & Partial<Record<(typeof SECONDS_FIELDS)[number], number | undefined>>,
  ctx: Refinement,
  has: Record<'COMMAND' | 'HTTP' | 'TCP', boolean>,
  what: string,
): void {
  const member = { COMMAND: 'command', HTTP: 'http', TCP: 'tcp' } as const;
  if (value.type === undefined) {
    ctx.addIssue({ code: 'custom', path: ['type'], message: `required field is missing: a ${what} must say its type (COMMAND, HTTP or TCP)` });
  } else if (value.type === 'UNKNOWN') {
    ctx.addIssue({ code: 'custom', path: ['type'], message: `'UNKNOWN' is not a valid ${what} type; use COMMAND, HTTP or TCP` });
  } else if (!has[value.type]) {
    const name = member[value.type];
    ctx.addIssue({ code: 'custom', path: [name], message: `required field is missing: a ${value.type} ${what} needs '${name}'` });
  }
  for (const field of SECONDS_FIELDS) {
    const seconds = value[field];
    if (seconds !== undefined && !(seconds >= 0 && Number.isFinite(seconds))) {
      ctx.addIssue({ code: 'custom', path: [field], message: `must be a non-negative number of seconds, not ${seconds}` });
    }
  }
}

function refinePort(port: number | undefined, path: (string | number)[], ctx: Refinement): void {
  if (port !== undefined && !(port >= 1 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', path, message: `must be a TCP port (1-65535), not ${port}` });
  }
}

function refinePath(path: string | undefined, at: (string | number)[], ctx: Refinement): void {
  if (path !== undefined && !path.startsWith('/')) {
    ctx.addIssue({ code: 'custom', path: at, message: `must start with '/' (got '${path}')` });
  }
}

/** A check's command: a value to run, and environment variables agora can set (no secrets). */
function refineCommand(command: CommandInfo | undefined, at: (string | number)[], ctx: Refinement): void {
  if (command === undefined) return;
  if ((command.value ?? '') === '') {
    const what = command.shell === false ? 'the executable to run' : 'the shell command to run';
    ctx.addIssue({ code: 'custom', path: [...at, 'value'], message: `required field is missing: ${what}` });
  }
  (command.environment?.variables ?? []).forEach((variable, i) => {
    const path = [...at, 'environment', 'variables', i];
    if (variable.type === 'SECRET') {
      ctx.addIssue({ code: 'custom', path, message: `'${variable.name}' is a SECRET, which checks cannot resolve; give it a value` });
    } else if (variable.type === 'UNKNOWN') {
      ctx.addIssue({ code: 'custom', path: [...path, 'type'], message: "'UNKNOWN' is not allowed; use VALUE" });
    } else if (variable.value === undefined) {
      ctx.addIssue({ code: 'custom', path: [...path, 'value'], message: `required field is missing: '${variable.name}' needs a value` });
    }
  });
}

/** A HealthCheck that the built-in executors (and agora's agent) can run. */
export const ValidHealthCheck = HealthCheck.superRefine((hc, ctx) => {
  if (hc.consecutive_failures !== undefined && hc.consecutive_failures < 0) {
    ctx.addIssue({ code: 'custom', path: ['consecutive_failures'], message: `must not be negative, not ${hc.consecutive_failures}` });
  }
  refineCommon(hc, ctx, { COMMAND: hc.command !== undefined, HTTP: hc.http !== undefined, TCP: hc.tcp !== undefined }, 'health check');
  if (hc.type === 'COMMAND') refineCommand(hc.command, ['command'], ctx);
  if (hc.type === 'HTTP' && hc.http !== undefined) {
    const { scheme } = hc.http;
    if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
      ctx.addIssue({ code: 'custom', path: ['http', 'scheme'], message: `must be "http" or "https", not "${scheme}"` });
    }
    refinePort(hc.http.port, ['http', 'port'], ctx);
    refinePath(hc.http.path, ['http', 'path'], ctx);
  }
  if (hc.type === 'TCP') refinePort(hc.tcp?.port, ['tcp', 'port'], ctx);
});

/** A CheckInfo that the built-in executors (and agora's agent) can run. */
export const ValidCheckInfo = CheckInfo.superRefine((check, ctx) => {
  refineCommon(check, ctx, { COMMAND: check.command !== undefined, HTTP: check.http !== undefined, TCP: check.tcp !== undefined }, 'check');
  if (check.type === 'COMMAND') refineCommand(check.command?.command, ['command', 'command'], ctx);
  if (check.type === 'HTTP') {
    refinePort(check.http?.port, ['http', 'port'], ctx);
    refinePath(check.http?.path, ['http', 'path'], ctx);
  }
  if (check.type === 'TCP') refinePort(check.tcp?.port, ['tcp', 'port'], ctx);
});

export type CheckParseResult<T> = { value: T } | { error: string };

/** Decodes and validates an (opaque) TaskInfo.health_check; the error names the field. */
export function parseHealthCheck(value: unknown, what = 'health_check'): CheckParseResult<HealthCheck> {
  return parseWith(ValidHealthCheck, value, what);
}

/** Decodes and validates an (opaque) TaskInfo.check; the error names the field. */
export function parseCheckInfo(value: unknown, what = 'check'): CheckParseResult<CheckInfo> {
  return parseWith(ValidCheckInfo, value, what);
}

/**
 * Why a task's health check or check cannot run (the master answers TASK_ERROR with it, the
 * agent TASK_FAILED), or undefined when both are absent or valid.
 */
export function invalidTaskChecks(task: { health_check?: unknown; check?: unknown }): string | undefined {
  if (task.health_check !== undefined) {
    const parsed = parseHealthCheck(task.health_check);
    if ('error' in parsed) return `Task uses an invalid health check: ${parsed.error}`;
  }
  if (task.check !== undefined) {
    const parsed = parseCheckInfo(task.check);
    if ('error' in parsed) return `Task uses an invalid check: ${parsed.error}`;
  }
  return undefined;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): CheckParseResult<T> {
  const result = schema.safeParse(value);
  if (result.success) return { value: result.data };
  const issue = result.error.issues[0];
  if (issue === undefined) return { error: `${what} is invalid` };
  const path = [what, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '[');
  const missing = issue.code !== 'custom' && valueAt(value, issue.path) === undefined;
  return { error: `${path}: ${missing ? 'required field is missing' : issue.message}` };
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}
