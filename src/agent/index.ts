/**
 * The agent's entry file: what composition roots (src/main) import. The agent runs command
 * tasks through the containerizer and speaks to its master over the internal agent link.
 */
export { Agent, type AgentOptions } from './agent.js';
export { agentAttributes, agentResources, machineFacts, type MachineFacts } from './resource-detection.js';
export { REGISTRATION_BACKOFF_FACTOR_MS, REGISTRATION_BACKOFF_MAX_MS } from './master-link.js';
export { DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS } from './core/index.js';
