/**
 * The containerizer's entry file: the only module other subsystems import from here.
 * Containers are launched through a Launcher; the posix launcher is the one there is today.
 */
export { Containerizer, type Container, type ContainerConfig } from './containerizer.js';
export {
  describeExit,
  LaunchError,
  type ContainerProcess,
  type ExitStatus,
  type LaunchSpec,
  type Launcher,
} from './launcher.js';
export { PosixLauncher } from './launchers/posix.js';
export { prepareSandbox, type SandboxFiles } from './sandbox.js';
export { agentIsRoot, agentUserName, IdNames, lookupUser, type UserEntry } from './users.js';
