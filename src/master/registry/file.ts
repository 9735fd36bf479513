/**
 * The embedded registry: `<work_dir>/registry.json`, a whole snapshot rewritten atomically for
 * every operation (temp file, fsync, rename, fsync of the directory). Small state, rare writes:
 * a snapshot is simpler than a log and never half-written. Format: docs/decisions/0005-registry.md.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../../io/atomic-file.js';
import { join } from 'node:path';
import { AgoraError } from '../../base/index.js';
import { describeIssues, parseJsonLenient } from '../../api/index.js';
import type { Registry } from './index.js';
import { type RegistryOperation, RegistryState, applyRegistryOperation, emptyRegistry } from './state.js';

export const REGISTRY_FILE = 'registry.json';

export class FileRegistry implements Registry {
  readonly path: string;
  private state: RegistryState | undefined;
  /** Writes run one after another, in the order operations were applied. */
  private writes: Promise<void> = Promise.resolve();

  constructor(workDir: string) {
    this.path = join(workDir, REGISTRY_FILE);
  }

  async load(): Promise<RegistryState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new AgoraError('AGORA_ERR_VALIDATION', `cannot read the registry ${this.path}: ${(err as Error).message}`);
      }
      this.state = emptyRegistry();
      return this.state;
    }
    let json: unknown;
    try {
      json = parseJsonLenient(text);
    } catch (err) {
      throw unreadable(this.path, `it is not JSON (${(err as Error).message})`);
    }
    const parsed = RegistryState.safeParse(json);
    if (!parsed.success) throw unreadable(this.path, describeIssues(parsed.error, 'registry'));
    this.state = parsed.data;
    return this.state;
  }

  apply(operation: RegistryOperation): Promise<void> {
    if (this.state === undefined) return Promise.reject(new Error('FileRegistry.apply before load'));
    const next = applyRegistryOperation(this.state, operation);
    this.state = next;
    const write = this.writes.then(() => writeFileAtomically(this.path, `${JSON.stringify(next, null, 2)}\n`));
    // A failed write fails its operation; later operations still try (each writes the whole state).
    this.writes = write.catch(() => undefined);
    return write;
  }
}

function unreadable(path: string, why: string): AgoraError {
  return new AgoraError(
    'AGORA_ERR_VALIDATION',
    `the registry ${path} cannot be read: ${why}; restore it from a backup, or move it away to start with no weights and quota`,
  );
}

