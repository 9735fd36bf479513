/** The master: its deterministic core, the runtime that carries out its effects, and its HTTP handlers. */
export { MasterCore, DEFAULT_CORE_CONFIG } from './core/index.js';
export type { MasterCoreConfig } from './core/index.js';
export type { MasterDescription } from './core/index.js';
export { MasterRuntime } from './runtime.js';
export { registerSchedulerApi } from './http/scheduler.js';
export { registerAgentLink } from './http/agent-link.js';
export { registerMasterEndpoints } from './http/endpoints.js';
export { registerOperatorApi } from './http/operator.js';
export { registerRoleEndpoints } from './http/roles.js';
export { FileRegistry, InMemoryRegistry, type Registry, type RegistryState } from './registry/index.js';
export { registerLeaderGate } from './http/leader-gate.js';
export { HaMaster, type MasterRole, type Term } from './leader/index.js';
