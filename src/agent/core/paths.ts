/**
 * The agent's work_dir layout (facts 7.2), as pure string functions so the core can name a
 * sandbox before the shell creates it. Ids in paths are path-safe (validated in src/api).
 */

/** `<work_dir>/slaves/<agentId>/frameworks/<fid>/executors/<eid>/runs/<containerId>`, as Mesos lays it out. */
export function executorRunPath(
  workDir: string,
  agentId: string,
  frameworkId: string,
  executorId: string,
  containerId: string,
): string {
  return `${executorRunsPath(workDir, agentId, frameworkId, executorId)}/${containerId}`;
}

/** The `runs` directory of an executor, which also holds the `latest` symlink. */
export function executorRunsPath(workDir: string, agentId: string, frameworkId: string, executorId: string): string {
  return `${trimSlash(workDir)}/slaves/${agentId}/frameworks/${frameworkId}/executors/${executorId}/runs`;
}

/** The run's checkpoint directory, `<work_dir>/meta/slaves/.../runs/<containerId>`. */
export function metaRunPath(
  workDir: string,
  agentId: string,
  frameworkId: string,
  executorId: string,
  containerId: string,
): string {
  return `${trimSlash(workDir)}/meta/slaves/${agentId}/frameworks/${frameworkId}/executors/${executorId}/runs/${containerId}`;
}

/** The virtual path `/files` serves a run's sandbox under, as Mesos attaches it. */
export function virtualSandboxPath(frameworkId: string, executorId: string, run = 'latest'): string {
  return `/frameworks/${frameworkId}/executors/${executorId}/runs/${run}`;
}

function trimSlash(path: string): string {
  return path.endsWith('/') && path.length > 1 ? path.slice(0, -1) : path;
}
