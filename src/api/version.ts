/** The version agora reports on /version and in MasterInfo. Mesos tools parse it as semver. */
export const AGORA_VERSION = '0.1.0';
/** The Mesos API version whose wire facts agora follows. */
export const MESOS_COMPAT_VERSION = '1.11.0';
