/**
 * Health checks and checks of a group's tasks, as Mesos's default executor runs them (decision
 * 0007's library): HTTP and TCP probes go from the executor's own process to 127.0.0.1, since the
 * tasks of a group share the executor's network namespace; a COMMAND probe runs in the task's
 * container as a debug session nested in it (LAUNCH_NESTED_CONTAINER_SESSION, its exit status from
 * WAIT_NESTED_CONTAINER), since the executor cannot see or enter the task's process itself.
 */
import { randomUUID } from 'node:crypto';
import type { CheckInfo, CheckStatusInfo, ContainerID, HealthCheck, TaskInfo } from '../api/index.js';
import { parseCheckInfo, parseHealthCheck } from '../api/index.js';
import type { Clock } from '../base/index.js';
import { openEventStream, request } from '../http/index.js';
import {
  type CheckerHandle,
  emptyCheckStatus,
  type HealthUpdate,
  type Probe,
  type ProbeResult,
  probeRunner,
  runCheck,
  runHealthCheck,
  type RunProbe,
  systemTimers,
} from './checks/index.js';

/** Bytes of a COMMAND probe's output kept for the unhealthy message. */
const OUTPUT_TAIL_BYTES = 512;

export interface GroupCheckCallbacks {
  /** A health update (TASK_RUNNING, healthy, REASON_TASK_HEALTH_CHECK_STATUS_UPDATED); `kill` asks for the task's death. */
  onHealth(update: HealthUpdate): void;
  /** A new check status (TASK_RUNNING, REASON_TASK_CHECK_STATUS_UPDATED). */
  onCheckStatus(status: CheckStatusInfo): void;
  log(message: string): void;
}

/** The checkers of one task; `checkStatus` is what each of its updates carries (undefined without a check). */
export interface TaskCheckers {
  readonly checkStatus: CheckStatusInfo | undefined;
  /** The task is being killed: no more probes or updates. */
  stop(): void;
}

/** The empty status a task with a check carries before its first result, else undefined. */
export function initialCheckStatus(task: TaskInfo): CheckStatusInfo | undefined {
  const parsed = task.check === undefined ? undefined : parseCheckInfo(task.check);
  const type = parsed === undefined || 'error' in parsed ? undefined : parsed.value.type;
  return type === undefined || type === 'UNKNOWN' ? undefined : emptyCheckStatus(type);
}

/**
 * Starts the health check and the check of a task that has just started running in `container`.
 * The master validated both (TASK_ERROR otherwise); one that still does not parse is logged and
 * not run.
 */
export function startTaskCheckers(task: TaskInfo, container: ContainerID, agentUrl: string, clock: Clock, callbacks: GroupCheckCallbacks): TaskCheckers {
  const runProbe = groupProbeRunner(agentUrl, container);
  const common = { runProbe, clock, timers: systemTimers, onNote: callbacks.log };
  const handles: CheckerHandle[] = [];
  let check: (CheckerHandle & { readonly status: CheckStatusInfo }) | undefined;
  const health = parsed<HealthCheck>(task.health_check, parseHealthCheck, callbacks.log);
  if (health !== undefined) handles.push(runHealthCheck({ ...common, healthCheck: health, onUpdate: callbacks.onHealth }));
  const checkInfo = parsed<CheckInfo>(task.check, parseCheckInfo, callbacks.log);
  if (checkInfo !== undefined) {
    check = runCheck({ ...common, check: checkInfo, onStatus: callbacks.onCheckStatus });
    handles.push(check);
  }
  return {
    get checkStatus() {
      return check?.status ?? initialCheckStatus(task);
    },
    stop: () => handles.forEach((h) => h.stop()),
  };
}

function parsed<T>(value: unknown, parse: (v: unknown) => { value: T } | { error: string }, log: (m: string) => void): T | undefined {
  if (value === undefined) return undefined;
  const result = parse(value);
  if ('error' in result) {
    log(`not checking: ${result.error}`);
    return undefined;
  }
  return result.value;
}

/** HTTP/TCP from here (the group's network namespace); COMMAND as a session nested in `container`. */
export function groupProbeRunner(agentUrl: string, container: ContainerID): RunProbe {
  const local = probeRunner({});
  return (probe, signal) => (probe.type === 'COMMAND' ? commandInContainer(agentUrl, container, probe, signal) : local(probe, signal));
}

async function commandInContainer(agentUrl: string, parent: ContainerID, probe: Extract<Probe, { type: 'COMMAND' }>, signal: AbortSignal): Promise<ProbeResult> {
  const containerId: ContainerID = { value: `check-${randomUUID()}`, parent };
  const call = { type: 'LAUNCH_NESTED_CONTAINER_SESSION', launch_nested_container_session: { container_id: containerId, command: probe.command } };
  let stream;
  try {
    // The session lives as long as this connection: closing it (an abort) kills the probe.
    stream = await openEventStream(`${agentUrl}/api/v1`, call, { Accept: 'application/recordio', 'Message-Accept': 'application/json' });
  } catch (err) {
    return { type: 'failed', message: `cannot start the check in the task's container: ${(err as Error).message}` };
  }
  if (stream.status !== 200) return { type: 'failed', message: `the agent refused the check's session (${stream.status}): ${stream.errorText?.trim() ?? ''}` };
  const close = () => stream.close();
  // Aborted while the session was starting: the listener below would never fire.
  if (signal.aborted) {
    close();
    return { type: 'failed', message: 'aborted' };
  }
  signal.addEventListener('abort', close, { once: true });
  let output = '';
  try {
    for await (const record of stream.events) {
      const data = (record as { type?: string; data?: { data?: string } }).data?.data;
      if (data !== undefined) output = (output + Buffer.from(data, 'base64').toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    }
  } catch {
    // A stream cut short: the exit status (or the abort) says what happened.
  } finally {
    signal.removeEventListener('abort', close);
  }
  if (signal.aborted) return { type: 'failed', message: 'aborted' };
  const waited = await request(`${agentUrl}/api/v1`, JSON.stringify({ type: 'WAIT_NESTED_CONTAINER', wait_nested_container: { container_id: containerId } })).catch(
    (err: Error) => ({ status: 0, text: err.message }),
  );
  if (waited.status !== 200) return { type: 'failed', message: `cannot learn the check's exit status (${waited.status}): ${waited.text.trim()}` };
  const status = (JSON.parse(waited.text) as { wait_nested_container?: { exit_status?: number } }).wait_nested_container?.exit_status;
  if (status === undefined) return { type: 'failed', message: 'the check ended without an exit status' };
  if ((status & 0x7f) !== 0) return { type: 'failed', message: `the check was terminated by signal ${status & 0x7f}` };
  return { type: 'COMMAND', exitCode: (status >> 8) & 0xff, output: output.trim() };
}
