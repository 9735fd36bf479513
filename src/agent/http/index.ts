/**
 * The agent's HTTP shell: legacy JSON endpoints and sandbox files on the agent's fastify server.
 * Handlers read the agent core's books; they never change them.
 */
export { containersJson, getContainersResponse, type MeasuredContainer, measureContainers, monitorStatisticsJson } from './containers.js';
export { registerAgentEndpoints } from './endpoints.js';
export { registerFilesEndpoints, modeString } from './files.js';
export {
  REPLIED,
  type ContainerLookup,
  type EnterableContainer,
  type OperatorAnswer,
  type OperatorCallContext,
  type OperatorCallHandler,
  type OperatorHandlers,
  type OperatorOptions,
} from './operator.js';
export { SandboxPaths, type PathRefusal, type ResolvedPath, type RunsDirectoryLookup } from './sandbox-paths.js';
export { AGENT_CAPABILITIES, agentMetrics, agentStateJson, executorName, type AgentDescription } from './views.js';
export { ExecutorStreams, registerExecutorApi } from './executor-api.js';
export { nestedContainerHandlers } from './nested-containers.js';
