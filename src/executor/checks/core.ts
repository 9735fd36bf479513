/**
 * The pure part of the checks library: policies, probes, results and the state machines of a
 * HealthCheck and a CheckInfo. No I/O, no clock, no timers: the entry that cores (the agent's)
 * import. Shells import index.ts, which adds the driver and the runners.
 */
export {
  checkProbe,
  checkTiming,
  DEFAULT_CONSECUTIVE_FAILURES,
  DEFAULT_DELAY_SECONDS,
  DEFAULT_GRACE_PERIOD_SECONDS,
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  describeProbe,
  healthPolicy,
  healthProbe,
  probeUrl,
  type CheckTiming,
  type HealthPolicy,
  type Probe,
} from './policy.js';
export { checkStatusOf, emptyCheckStatus, healthOf, sameCheckStatus, type Health, type ProbeResult } from './results.js';
export { ProbeSchedule, type CheckNote, type ScheduleEffect, type SchedulePhase } from './schedule.js';
export { HealthCheckMachine, type HealthCheckEffect, type HealthUpdate } from './health.js';
export { CheckMachine, type CheckEffect, type CheckStatusUpdate } from './check.js';
