/**
 * Health checks and checks (facts 8.6), the library the agent (for command tasks) and the
 * default executor (for task groups) both run: the pure machines (core.ts), a driver that runs
 * one with injected timers, and the runners that probe a task from inside its namespaces.
 *
 * An executor checks a task it has started, `pid` being the task's process as the host sees it:
 *
 *   const parsed = parseHealthCheck(task.health_check);   // from api; the master validated it
 *   const health = runHealthCheck({
 *     healthCheck: parsed.value, runProbe: probeRunner({ pid }), clock, timers: systemTimers,
 *     onUpdate: (u) => { TASK_RUNNING, healthy: u.healthy, REASON_TASK_HEALTH_CHECK_STATUS_UPDATED;
 *                        if (u.kill) kill the task with its KillPolicy, then end it TASK_KILLED, healthy: false },
 *   });
 *   health.pause() when the task is being killed, health.stop() once it ended.
 *
 * runCheck() is the same for a CheckInfo: `onStatus` gets each new CheckStatusInfo (send it with
 * REASON_TASK_CHECK_STATUS_UPDATED) and `status` is what every other update carries.
 */
export * from './core.js';
export { runCheck, runHealthCheck, type CheckerHandle, type CheckOptions, type CheckTimers, type HealthCheckOptions, type RunProbe } from './driver.js';
export { probeRunner, runProbe, type ProbeTarget, type RunnerOptions } from './runner.js';
export { systemTimers } from './timers.js';
