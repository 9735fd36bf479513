/**
 * The agent's v1 Operator API (`POST /api/v1` on an agent, facts 3.3): Mesos's `agent.Call`.
 * Every call type is known, so an unimplemented one is answered 501 by name, not 400.
 */
import { z } from 'zod';
import { AGENT_IO_CALL_FIELDS } from './agent-operator-io.js';
import { CommandInfo, ContainerID } from './common.js';
import { double } from './decode.js';
import { Resource } from './resource.js';

export * from './agent-operator-io.js';

export const AGENT_OPERATOR_CALL_TYPES = [
  'UNKNOWN',
  'GET_HEALTH',
  'GET_FLAGS',
  'GET_VERSION',
  'GET_METRICS',
  'GET_LOGGING_LEVEL',
  'SET_LOGGING_LEVEL',
  'LIST_FILES',
  'READ_FILE',
  'GET_STATE',
  'GET_CONTAINERS',
  'GET_FRAMEWORKS',
  'GET_EXECUTORS',
  'GET_OPERATIONS',
  'GET_TASKS',
  'GET_AGENT',
  'GET_RESOURCE_PROVIDERS',
  'LAUNCH_NESTED_CONTAINER',
  'WAIT_NESTED_CONTAINER',
  'KILL_NESTED_CONTAINER',
  'REMOVE_NESTED_CONTAINER',
  'LAUNCH_NESTED_CONTAINER_SESSION',
  'ATTACH_CONTAINER_INPUT',
  'ATTACH_CONTAINER_OUTPUT',
  'LAUNCH_CONTAINER',
  'WAIT_CONTAINER',
  'KILL_CONTAINER',
  'REMOVE_CONTAINER',
  'ADD_RESOURCE_PROVIDER_CONFIG',
  'UPDATE_RESOURCE_PROVIDER_CONFIG',
  'REMOVE_RESOURCE_PROVIDER_CONFIG',
  'MARK_RESOURCE_PROVIDER_GONE',
  'PRUNE_IMAGES',
] as const;

export const AgentOperatorCallType = z.enum(AGENT_OPERATOR_CALL_TYPES);
export type AgentOperatorCallType = z.infer<typeof AgentOperatorCallType>;

/**
 * LAUNCH_CONTAINER (and the deprecated LAUNCH_NESTED_CONTAINER): a container nested under
 * `container_id.parent`, such as a task of a task group that its default executor starts.
 * `container` stays opaque JSON (a ContainerInfo) for the containerizer's isolators.
 */
export const LaunchContainerCall = z.object({
  container_id: ContainerID,
  command: CommandInfo.optional(),
  resources: z.array(Resource).optional(),
  limits: z.record(z.string(), z.object({ value: double })).optional(),
  container: z.unknown().optional(),
});
export type LaunchContainerCall = z.infer<typeof LaunchContainerCall>;
/** REMOVE_CONTAINER; WAIT_CONTAINER and KILL_CONTAINER (and their *_NESTED_* names) are in agent-operator-io.ts. */
const ContainerCall = z.object({ container_id: ContainerID });

/** `agent.Call`; the members of call types agora does not answer yet stay opaque. */
export const AgentOperatorCall = z.object({
  type: AgentOperatorCallType,
  launch_container: LaunchContainerCall.optional(),
  launch_nested_container: LaunchContainerCall.optional(),
  remove_container: ContainerCall.optional(),
  remove_nested_container: ContainerCall.optional(),
  get_containers: z.object({ show_nested: z.boolean().optional(), show_standalone: z.boolean().optional() }).optional(),
  ...AGENT_IO_CALL_FIELDS,
});
export type AgentOperatorCall = z.infer<typeof AgentOperatorCall>;
