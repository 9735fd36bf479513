/**
 * The agent core's entry file: the deterministic state machine and its vocabulary. No I/O,
 * no timers, no ambient time: the shell (src/agent/runtime.ts) drives it.
 */
export { AgentCore, type AgentCoreConfig, type AgentCoreDeps } from './agent-core.js';
export { AgentBooks } from './books.js';
export { gracePeriodMs } from './kill.js';
export {
  containerResources,
  DEFAULT_KILL_GRACE_PERIOD_MS,
  HOST_DEFAULT_PATH,
  planCommandTask,
  taskEnvironment,
  terminalStatusFor,
  type KillCause,
} from './command-executor.js';
export {
  timerKey,
  type AgentEffect,
  type AgentInput,
  type AgentTimer,
  type ContainerExit,
  type ContainerLaunch,
  type ContainerLimitation,
  type ContainerResources,
  type ExecutorEventOut,
} from './effects.js';
export { DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS } from './http-executors.js';
export { executorRunPath, executorRunsPath, metaRunPath, virtualSandboxPath } from './paths.js';
export type { AgentCounters, ContainerPhase, ExecutorEntry, FrameworkEntry, HttpExecutorEntry, TaskEntry } from './state.js';
export {
  STATUS_UPDATE_RETRY_INTERVAL_MAX_MS,
  STATUS_UPDATE_RETRY_INTERVAL_MIN_MS,
  StatusUpdateManager,
  type AckOutcome,
  type StatusRetryTimer,
  type StatusUpdateEffect,
} from './status-update-manager.js';
export { checkpointedTotal } from './reservations.js';
export type { StreamRecord, TaskCheckpoint } from './checkpoints.js';
export type { RecoveredContainerState, RecoveredRun, RecoveredTask, RecoveryInput } from './recovery.js';
