/**
 * etcd for agora (docs/decisions/0009-ha-on-etcd.md): the client interface and its etcd3 and
 * in-memory implementations, the etcd:// URL and well-known keys, and leader detection. A shell
 * helper layer beside http/ and io/: masters, agents and the CLI import it; cores never do.
 */
export { EtcdClient } from './client.js';
export { FakeEtcd, FakeEtcdClient } from './fake.js';
export type { Compare, EtcdKv, EtcdLease, EtcdWatch, KeyValue, Mutation } from './kv.js';
export { DEFAULT_ETCD_PREFIX, type EtcdLocation, etcdKeys, isEtcdUrl, parseEtcdUrl } from './url.js';
export {
  EtcdMasterDetector,
  type MasterDetector,
  StandaloneMasterDetector,
  createMasterDetector,
  masterUrl,
} from './detector.js';
