/**
 * Checkpoints of container networks (libcni's result cache): per container, its namespace and,
 * per network, the configuration, capability values and ADD result that DEL must be given
 * again. Written before every step, atomically, so a crash at any point leaves enough to undo.
 */
import { readdir, readFile, rm, mkdir } from 'node:fs/promises';
import { writeFileAtomically } from '../../io/atomic-file.js';
import { join } from 'node:path';
import type { NetworkInfo } from '../../api/index.js';
import type { NetworkConfigList } from './config.js';

export interface AttachmentState {
  network: string;
  ifName: string;
  /** The configuration ADD ran with: DEL uses it even if the file changed or vanished since. */
  config: NetworkConfigList;
  capabilityArgs: Record<string, unknown>;
  /** The NetworkInfo the task asked for, which the reported one copies. */
  requested: NetworkInfo;
  /** The ADD result; absent until ADD has succeeded. */
  result?: unknown;
}

export interface ContainerNetworkState {
  containerId: string;
  namespace: { name: string; path: string };
  attachments: AttachmentState[];
}

export class NetworkStateStore {
  constructor(readonly dir: string) {}

  async write(state: ContainerNetworkState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomically(this.path(state.containerId), JSON.stringify(state, null, 2));
  }

  async read(containerId: string): Promise<ContainerNetworkState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(containerId), 'utf8');
    } catch {
      return undefined;
    }
    return JSON.parse(text) as ContainerNetworkState;
  }

  async remove(containerId: string): Promise<void> {
    await rm(this.path(containerId), { force: true });
  }

  /** Ids of every container with a checkpoint. */
  async containerIds(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
  }

  private path(containerId: string): string {
    return join(this.dir, `${containerId}.json`);
  }
}
