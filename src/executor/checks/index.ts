/**
 * Health checks and checks (facts 8.6), the library the agent (for command tasks) and the
 * default executor (for task groups) both run: the pure machines (core.ts), a driver that runs
 * one with injected timers, and the runners that probe a task from inside its namespaces.
 */
export * from './core.js';
export { runCheck, runHealthCheck, type CheckerHandle, type CheckOptions, type CheckTimers, type HealthCheckOptions, type RunProbe } from './driver.js';
export { probeRunner, runProbe, type ProbeTarget, type RunnerOptions } from './runner.js';
