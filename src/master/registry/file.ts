/**
 * The embedded registry: `<work_dir>/registry.json`, a whole snapshot rewritten atomically
 * (temp file, fsync, rename, fsync of the directory). A snapshot is simpler than a log and never
 * half-written; operations that arrive while a write is in flight share the next write (group
 * commit), so a burst of agent registrations costs a few writes, not one each. Format:
 * docs/decisions/0005-registry.md.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../../io/atomic-file.js';
import { join } from 'node:path';
import { AgoraError } from '../../base/index.js';
import { describeIssues, parseJsonLenient } from '../../api/index.js';
import type { Registry } from './index.js';
import { type RegistryOperation, RegistryModel, RegistryState, emptyRegistry } from './state.js';

export const REGISTRY_FILE = 'registry.json';

export class FileRegistry implements Registry {
  readonly path: string;
  private model: RegistryModel | undefined;
  /** The write in flight (settled, never rejected: its callers see its failure). */
  private writing: Promise<void> = Promise.resolve();
  /** The next write, not started yet: operations applied now join it. */
  private next: Promise<void> | undefined;

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
      this.model = RegistryModel.from(emptyRegistry());
      return emptyRegistry();
    }
    let json: unknown;
    try {
      json = parseJsonLenient(text);
    } catch (err) {
      throw unreadable(this.path, `it is not JSON (${(err as Error).message})`);
    }
    const parsed = RegistryState.safeParse(json);
    if (!parsed.success) throw unreadable(this.path, describeIssues(parsed.error, 'registry'));
    this.model = RegistryModel.from(parsed.data);
    return parsed.data;
  }

  apply(operation: RegistryOperation): Promise<void> {
    if (this.model === undefined) return Promise.reject(new Error('FileRegistry.apply before load'));
    this.model.apply(operation);
    if (this.next !== undefined) return this.next;
    const model = this.model;
    // The snapshot is taken when the write starts, so it holds every operation applied until then.
    const write = this.writing.then(() => {
      this.next = undefined;
      return writeFileAtomically(this.path, `${JSON.stringify(model.toState(), null, 2)}\n`);
    });
    this.next = write;
    // A failed write fails its operations; later operations still try (each writes the whole state).
    this.writing = write.catch(() => undefined);
    return write;
  }
}

function unreadable(path: string, why: string): AgoraError {
  return new AgoraError(
    'AGORA_ERR_VALIDATION',
    `the registry ${path} cannot be read: ${why}; restore it from a backup, or move it away to start with an empty registry (no weights or quota; agents register anew)`,
  );
}

