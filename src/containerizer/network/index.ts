/**
 * Container networks (CNI): the entry file of src/containerizer/network. The containerizer runs
 * the network/cni isolator; the agent's composition root makes it from the flags.
 */
export { NetworkCniIsolator, networkIsolatorFromFlags, requestedNetworks, type NetworkFlags } from './isolator.js';
export {
  CniNetworks,
  joinsNetworks,
  NetworkError,
  type CniNetworksOptions,
  type ContainerNetworks,
  type NetworkAttachment,
} from './networks.js';
export { DEFAULT_PLUGIN_DIRS, NetworkConfigError, type NetworkConfigList } from './config.js';
