/** The master core: a deterministic state machine driven by calls, closed streams and timers. */
export { MasterCore } from './master-core.js';
export type { MasterCoreDeps } from './master-core.js';
export { DEFAULT_CORE_CONFIG } from './context.js';
export type { MasterCoreConfig } from './context.js';
export type { Effect } from './effects.js';
export type { CallReply } from './scheduler-calls.js';
export { type OperatorReply, isCoreOperatorCall } from './operator-calls.js';
export type { AgentRecord, ConnectionId, FrameworkRecord, MasterState, OfferRecord, TaskRecord } from './state.js';
export { frameworkJson, masterMetrics, masterStateJson, stateSummaryJson, taskJson } from './views.js';
export type { MasterDescription } from './views.js';
export { getAgents, getFrameworks, getState, getTasks } from './v1-views.js';
