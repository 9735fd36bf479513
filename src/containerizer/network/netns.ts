/**
 * Network namespaces that outlive any process, made with iproute2 (`ip netns`): each is a file
 * under /run/netns that a container joins by path and operators can enter by name.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

/** Where `ip netns` keeps its namespaces (iproute2's NETNS_RUN_DIR: /run/netns, /var/run/netns before 5.x). */
const NETNS_RUN_DIRS = ['/run/netns', '/var/run/netns'];

/** Creating and removing named namespaces; the isolator needs nothing more. */
export interface NamespaceManager {
  /** Creates namespace `name` with its loopback up; returns its path. */
  create(name: string): Promise<string>;
  /** Removes it; a namespace that is already gone is not an error. */
  remove(name: string): Promise<void>;
}

export class IpNetns implements NamespaceManager {
  constructor(private readonly ip = 'ip') {}

  /** Throws with a hint when iproute2 is not installed. */
  async ensureAvailable(): Promise<void> {
    try {
      await this.run(['-V']);
    } catch (err) {
      throw new Error(`the 'ip' command of iproute2 cannot run (${(err as Error).message}); install iproute2`);
    }
  }

  async create(name: string): Promise<string> {
    await this.run(['netns', 'add', name]);
    try {
      await this.run(['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await this.remove(name).catch(() => undefined);
      throw err;
    }
    for (const dir of NETNS_RUN_DIRS) {
      const path = join(dir, name);
      if (await access(path).then(() => true, () => false)) return path;
    }
    await this.remove(name).catch(() => undefined);
    throw new Error(`'${this.ip} netns add ${name}' made no file in ${NETNS_RUN_DIRS.join(' or ')}`);
  }

  async remove(name: string): Promise<void> {
    try {
      await this.run(['netns', 'delete', name]);
    } catch (err) {
      if (/No such file or directory|Cannot remove namespace file/.test((err as Error).message)) {
        // `ip netns delete` of a missing namespace; nothing to undo.
        return;
      }
      throw err;
    }
  }

  private run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.ip, args, { timeout: 30_000 }, (err, stdout, stderr) => {
        if (err === null) return resolve(stdout);
        const detail = stderr.trim() || err.message;
        reject(new Error(`'${this.ip} ${args.join(' ')}' failed: ${detail}`));
      });
    });
  }
}

/** The namespace of a container: `agora-<containerId>`, so `ip netns list` shows whose it is. */
export function namespaceName(containerId: string): string {
  return `agora-${containerId.replace(/[^a-zA-Z0-9_.-]/g, '_')}`;
}
