/**
 * The master's registry (facts 9): the state that must survive a master restart, loaded once at
 * start and changed one atomic operation at a time. `FileRegistry` keeps it in the work dir,
 * `EtcdRegistry` in etcd for HA masters; `InMemoryRegistry` forgets it (tests, --registry=in_memory).
 */
import { type RegistryOperation, RegistryModel, type RegistryState, emptyRegistry } from './state.js';

export interface Registry {
  /** The stored state (empty on first start). Called once, before the master serves. */
  load(): Promise<RegistryState>;
  /**
   * Applies one operation and resolves once it is durable. Operations are stored in the order
   * given and resolve in that order, so once one resolves every earlier one is durable too; a
   * failure rejects, and the caller must not report the change as done.
   */
  apply(operation: RegistryOperation): Promise<void>;
}

/** A registry that forgets everything when the process ends: tests, and `--registry=in_memory`. */
export class InMemoryRegistry implements Registry {
  private readonly model: RegistryModel;

  constructor(initial: RegistryState = emptyRegistry()) {
    this.model = RegistryModel.from(initial);
  }

  async load(): Promise<RegistryState> {
    return this.model.toState();
  }

  async apply(operation: RegistryOperation): Promise<void> {
    this.model.apply(operation);
  }

  snapshot(): RegistryState {
    return this.model.toState();
  }
}

export { EtcdRegistry, LeadershipLostError, MAX_MUTATIONS_PER_TXN } from './etcd.js';
export { FileRegistry, REGISTRY_FILE } from './file.js';
export { DEFAULT_REGISTRY_GC_POLICY, type RegistryGcPolicy, agentsToPrune } from './gc.js';
export { type RecordMutation, applyMutations, recordMutations, registryRecords, stateFromRecords } from './records.js';
export {
  type AdmittedAgent,
  type AgentTombstone,
  type MaintenanceSchedule,
  type RegistryOperation,
  RegistryModel,
  RegistryState,
  applyRegistryOperation,
  emptyRegistry,
} from './state.js';
