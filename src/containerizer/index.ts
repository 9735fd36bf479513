/**
 * The containerizer's entry file: the only module other subsystems import from here.
 * Containers are launched through a Launcher (posix, or oci with crun/runc); isolators
 * (images, volumes, CNI networks) plug in through the Isolator interface.
 */
export { Containerizer, type Container, type ContainerConfig, type ContainerizerOptions, type LimitationListener, type RecoverConfig } from './containerizer.js';
export { applyPatch, type ContainerRequest, type Isolator, type LaunchPatch } from './isolator.js';
export { DEFAULT_DISK_WATCH_INTERVAL_MS, diskUsageBytes } from './isolators/disk/du.js';
export {
  describeExit,
  LaunchError,
  SANDBOX_PATH_IN_IMAGE,
  type ContainerEntry,
  type ContainerLimitation,
  type ContainerProcess,
  type ContainerResources,
  type ExitStatus,
  type LaunchSpec,
  type Launcher,
  type OciMount,
  type RecoveredContainer,
  type ResourceStatistics,
} from './launcher.js';
export { startDebugProcess, type DebugCommand, type DebugProcess, type DebugTarget, type TerminalSize } from './exec.js';
export { PosixLauncher, type PosixLauncherOptions } from './launchers/posix.js';
export { OciLauncher, type OciLauncherOptions } from './launchers/oci.js';
export {
  chooseIsolation,
  DEFAULT_CGROUPS_ROOT,
  ISOLATION_MODES,
  type IsolationChoice,
  type IsolationMode,
  type IsolationOptions,
} from './isolation.js';
export { DEFAULT_PIDS_LIMIT } from './isolators/cgroups/pids.js';
export {
  DEFAULT_DOCKER_REGISTRY,
  DEFAULT_PULL_TIMEOUT_MS,
  defaultDockerStoreDir,
  imageIsolators,
  type ImageOptions,
} from './images/index.js';
export { prepareSandbox, type SandboxFiles } from './sandbox.js';
export { agentIsRoot, agentUserName, IdNames, lookupUser, type UserEntry } from './users.js';
export { networkIsolatorFromFlags, NetworkCniIsolator, type NetworkFlags } from './network/index.js';
