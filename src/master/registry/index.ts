/**
 * The master's registry (facts 9): the state that must survive a master restart, loaded once at
 * start and changed one atomic operation at a time. `FileRegistry` keeps it in the work dir;
 * issue 6 adds an etcd implementation of the same interface for HA.
 */
import { type RegistryOperation, type RegistryState, applyRegistryOperation, emptyRegistry } from './state.js';

export interface Registry {
  /** The stored state (empty on first start). Called once, before the master serves. */
  load(): Promise<RegistryState>;
  /**
   * Applies one operation and resolves once it is durable. Operations are applied in the order
   * given; a failure rejects, and the caller must not report the change as done.
   */
  apply(operation: RegistryOperation): Promise<void>;
}

/** A registry that forgets everything when the process ends: tests, and `--registry=in_memory`. */
export class InMemoryRegistry implements Registry {
  private state: RegistryState;

  constructor(initial: RegistryState = emptyRegistry()) {
    this.state = initial;
  }

  async load(): Promise<RegistryState> {
    return this.state;
  }

  async apply(operation: RegistryOperation): Promise<void> {
    this.state = applyRegistryOperation(this.state, operation);
  }

  snapshot(): RegistryState {
    return this.state;
  }
}

export { FileRegistry, REGISTRY_FILE } from './file.js';
export { type RegistryOperation, RegistryState, applyRegistryOperation, emptyRegistry } from './state.js';
