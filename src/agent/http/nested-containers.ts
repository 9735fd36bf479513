/**
 * The agent Operator API calls for nested containers (facts 3.3, 8.5): LAUNCH_CONTAINER,
 * WAIT_CONTAINER, KILL_CONTAINER, REMOVE_CONTAINER and their deprecated *_NESTED_CONTAINER
 * names, as the default executor uses them for the tasks of a group, and the nested containers
 * in GET_CONTAINERS with `show_nested`. A table for operator.ts; containers it does not know go
 * on to the next handler (debug sessions answer their own).
 */
import type { AgentOperatorCall, ContainerID } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import type { NestedContainers } from '../nested-containers.js';
import { type OperatorAnswer, type OperatorHandlers, REPLIED } from './operator-handlers.js';

export function nestedContainerHandlers(nested: () => NestedContainers | undefined): OperatorHandlers {
  const get = (): NestedContainers => {
    const containers = nested();
    if (containers === undefined) throw new AgoraError('AGORA_ERR_UNAVAILABLE', 'Agent has not finished recovery');
    return containers;
  };
  const launch = async (call: AgentOperatorCall): Promise<OperatorAnswer> => {
    const request = call.launch_container ?? call.launch_nested_container;
    if (request === undefined) throw new AgoraError('AGORA_ERR_VALIDATION', `Expecting '${call.type.toLowerCase()}' to be present`);
    const outcome = await get().launch(request);
    return { status: outcome === 'launched' ? 200 : 202 };
  };
  /** WAIT and KILL of a container that is not ours may be a debug session's: `next` answers those. */
  const knownOr = (id: ContainerID | undefined, next: () => Promise<OperatorAnswer>, answer: (id: ContainerID) => Promise<OperatorAnswer>) => {
    if (id === undefined) return next();
    return answer(id).catch((err: unknown) => (err instanceof AgoraError && err.code === 'AGORA_ERR_NOT_FOUND' ? next() : Promise.reject(err)));
  };
  const wait = (call: AgentOperatorCall, next: () => Promise<OperatorAnswer>) =>
    knownOr((call.wait_container ?? call.wait_nested_container)?.container_id, next, async (id) => {
      const termination = await get().wait(id);
      const key = call.type === 'WAIT_CONTAINER' ? 'wait_container' : 'wait_nested_container';
      return { status: 200, body: { type: call.type, [key]: termination } };
    });
  const kill = (call: AgentOperatorCall, next: () => Promise<OperatorAnswer>) => {
    const request = call.kill_container ?? call.kill_nested_container;
    return knownOr(request?.container_id, next, async (id) => {
      get().kill(id, request?.signal);
      return { status: 200 };
    });
  };
  const remove = (call: AgentOperatorCall, next: () => Promise<OperatorAnswer>) =>
    knownOr((call.remove_container ?? call.remove_nested_container)?.container_id, next, async (id) => {
      get().remove(id);
      return { status: 200 };
    });
  /** GET_CONTAINERS with `show_nested`: the answer for top-level containers, and the nested ones (Mesos lists them too). */
  const containers = async (call: AgentOperatorCall, next: () => Promise<OperatorAnswer>): Promise<OperatorAnswer> => {
    const answer = await next();
    const containers = nested();
    if (answer === REPLIED || answer.status !== 200 || call.get_containers?.show_nested !== true || containers === undefined) return answer;
    const body = answer.body as { get_containers?: { containers?: unknown[] } };
    const listed = await Promise.all(
      containers.running().map(async ({ id, frameworkId, executorId, container }) => {
        const statistics = await container.usage().catch(() => undefined);
        return {
          framework_id: { value: frameworkId },
          executor_id: { value: executorId },
          container_id: id,
          container_status: {
            container_id: id,
            executor_pid: container.pid,
            ...(container.networkInfos === undefined ? {} : { network_infos: container.networkInfos }),
          },
          ...(statistics === undefined ? {} : { resource_statistics: statistics }),
        };
      }),
    );
    return { ...answer, body: { ...body, get_containers: { ...body.get_containers, containers: [...(body.get_containers?.containers ?? []), ...listed] } } };
  };
  return {
    GET_CONTAINERS: (call, _context, next) => containers(call, next),
    LAUNCH_CONTAINER: launch,
    LAUNCH_NESTED_CONTAINER: launch,
    WAIT_CONTAINER: (call, _context, next) => wait(call, next),
    WAIT_NESTED_CONTAINER: (call, _context, next) => wait(call, next),
    KILL_CONTAINER: (call, _context, next) => kill(call, next),
    KILL_NESTED_CONTAINER: (call, _context, next) => kill(call, next),
    REMOVE_CONTAINER: (call, _context, next) => remove(call, next),
    REMOVE_NESTED_CONTAINER: (call, _context, next) => remove(call, next),
  };
}
