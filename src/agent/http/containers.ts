/**
 * Per-container usage in Mesos's shapes (facts 4.3, 3.3): `/monitor/statistics`, `/containers`
 * and the operator call GET_CONTAINERS. Joins the containerizer's measures with the core's books.
 */
import type { ResourceStatistics } from '../../containerizer/index.js';
import type { AgentCore, ExecutorEntry } from '../core/index.js';
import { executorName } from './views.js';

/** A running container as the HTTP layer sees it. */
export interface MeasuredContainer {
  readonly containerId: string;
  readonly pid: number;
  readonly networkInfos: Record<string, unknown>[] | undefined;
  usage(): Promise<ResourceStatistics | undefined>;
}

export interface ContainerUsage {
  executor: ExecutorEntry;
  container: MeasuredContainer;
  statistics: ResourceStatistics;
}

/** Usage of every running container the core knows; containers that just ended are left out. */
export async function measureContainers(core: AgentCore, containers: readonly MeasuredContainer[]): Promise<ContainerUsage[]> {
  const measured = await Promise.all(
    containers.map(async (container) => {
      const executor = core.books.executorOfContainer(container.containerId);
      if (executor === undefined) return undefined;
      const statistics = await container.usage().catch(() => undefined);
      return statistics === undefined ? undefined : { executor, container, statistics };
    }),
  );
  return measured.filter((m) => m !== undefined);
}

/** `/monitor/statistics`: one entry per executor. */
export function monitorStatisticsJson(usages: ContainerUsage[]): Record<string, unknown>[] {
  return usages.map(({ executor, statistics }) => ({
    executor_id: executor.id,
    executor_name: executorName(executor),
    framework_id: executor.frameworkId,
    source: executor.id,
    statistics,
  }));
}

/** `/containers`: the same, with the container's id and status. */
export function containersJson(usages: ContainerUsage[]): Record<string, unknown>[] {
  return usages.map((usage) => ({
    ...monitorStatisticsJson([usage])[0]!,
    container_id: usage.executor.containerId,
    container_status: containerStatus(usage),
  }));
}

/** The GET_CONTAINERS response of the v1 Operator API. */
export function getContainersResponse(usages: ContainerUsage[]): Record<string, unknown> {
  return {
    type: 'GET_CONTAINERS',
    get_containers: {
      containers: usages.map((usage) => ({
        framework_id: { value: usage.executor.frameworkId },
        executor_id: { value: usage.executor.id },
        executor_name: executorName(usage.executor),
        container_id: { value: usage.executor.containerId },
        container_status: containerStatus(usage),
        resource_statistics: usage.statistics,
      })),
    },
  };
}

function containerStatus({ executor, container }: ContainerUsage): Record<string, unknown> {
  return {
    container_id: { value: executor.containerId },
    executor_pid: container.pid,
    ...(container.networkInfos === undefined ? {} : { network_infos: container.networkInfos }),
  };
}
