/**
 * Finding the leading master, for agents, the CLI, schedulers and standby masters (Mesos's
 * MasterDetector): `host:port` names one master (a standby there answers 307 to the leader);
 * `etcd://...` reads the leader's MasterInfo from the well-known key and watches it.
 */
import { MasterInfo, parseJsonLenient } from '../api/index.js';
import { EtcdClient } from './client.js';
import type { EtcdKv, KeyValue } from './kv.js';
import { etcdKeys, isEtcdUrl, parseEtcdUrl } from './url.js';

export interface MasterDetector {
  /** What it watches, for messages: "127.0.0.1:5050" or "etcd://...". */
  readonly description: string;
  /** The leader's base URL (`http://ip:port`) as known now; undefined while there is none. */
  current(): string | undefined;
  /** The leader's URL once one is known, now or later; rejects after `timeoutMs`. */
  leader(timeoutMs: number): Promise<string>;
  /** `listener` hears every change of leader (undefined: none now). Returns how to stop listening. */
  onChange(listener: (url: string | undefined) => void): () => void;
  close(): Promise<void>;
}

/** `host:port`: always that master. */
export class StandaloneMasterDetector implements MasterDetector {
  readonly description: string;

  constructor(private readonly url: string) {
    this.description = url.replace(/^https?:\/\//, '');
  }

  current(): string {
    return this.url;
  }

  async leader(): Promise<string> {
    return this.url;
  }

  onChange(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}

/** The leader key of an etcd prefix, read and then watched; it reconnects on its own. */
export class EtcdMasterDetector implements MasterDetector {
  private info: MasterInfo | undefined;
  private revision = 0;
  private readonly listeners = new Set<(url: string | undefined) => void>();
  private closed = false;
  private cancelWatch: (() => Promise<void>) | undefined;
  private retry: NodeJS.Timeout | undefined;

  private constructor(
    private readonly kv: EtcdKv,
    private readonly key: string,
    readonly description: string,
    private readonly ownsClient: boolean,
    private readonly onError: (err: Error) => void,
  ) {}

  /**
   * Starts watching `<prefix>/leader` through `kv`. Returns at once; until etcd answers, there is
   * no leader. `ownsClient`: close() closes `kv` too.
   */
  static start(
    kv: EtcdKv,
    prefix: string,
    options: { ownsClient?: boolean; description?: string; onError?: (err: Error) => void } = {},
  ): EtcdMasterDetector {
    const detector = new EtcdMasterDetector(
      kv,
      etcdKeys(prefix).leader,
      options.description ?? `etcd://${kv.description.replace(/https?:\/\//g, '')}${prefix}`,
      options.ownsClient ?? false,
      options.onError ?? (() => undefined),
    );
    void detector.connect();
    return detector;
  }

  /** The leader's MasterInfo (standbys redirect to its hostname and port). */
  currentInfo(): MasterInfo | undefined {
    return this.info;
  }

  current(): string | undefined {
    return this.info === undefined ? undefined : masterUrl(this.info);
  }

  leader(timeoutMs: number): Promise<string> {
    const now = this.current();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no leading master in ${this.description} after ${timeoutMs} ms; are the masters running?`));
      }, timeoutMs);
      const off = this.onChange((url) => {
        if (url === undefined) return;
        clearTimeout(timer);
        off();
        resolve(url);
      });
    });
  }

  onChange(listener: (url: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.listeners.clear();
    await this.cancelWatch?.().catch(() => undefined);
    if (this.ownsClient) await this.kv.close();
  }

  /** The watch goes first, then a read: a change between the two is not missed. */
  private async connect(): Promise<void> {
    try {
      const watch = await this.kv.watch(this.key, (kv, revision) => this.update(kv, revision));
      if (this.closed) return void (await watch.cancel());
      this.cancelWatch = () => watch.cancel();
      const now = await this.kv.get(this.key);
      this.update(now, now?.modRevision ?? 0);
    } catch (err) {
      if (this.closed) return;
      this.onError(err as Error);
      this.retry = setTimeout(() => void this.connect(), 500);
    }
  }

  private update(kv: KeyValue | undefined, revision: number): void {
    if (this.closed || revision < this.revision) return;
    this.revision = revision;
    const before = this.current();
    this.info = kv === undefined ? undefined : parseMasterInfo(kv.value);
    const after = this.current();
    if (after === before) return;
    for (const listener of [...this.listeners]) listener(after);
  }
}

/** A leader key that does not hold a MasterInfo is treated as no leader (and never crashes a reader). */
function parseMasterInfo(text: string): MasterInfo | undefined {
  try {
    const parsed = MasterInfo.safeParse(parseJsonLenient(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Where to reach a master: its address's ip, else its packed ip, and its port. */
export function masterUrl(info: MasterInfo): string {
  const ip = info.address?.ip ?? uint32ToIpv4(info.ip);
  return `http://${ip}:${info.address?.port ?? info.port}`;
}

function uint32ToIpv4(ip: number): string {
  return [ip & 0xff, (ip >>> 8) & 0xff, (ip >>> 16) & 0xff, (ip >>> 24) & 0xff].join('.');
}

/**
 * A detector for a `--master` value: `etcd://...` or `host:port` (also `http://host:port`).
 * Throws with the flag's fix when the value is neither.
 */
export function createMasterDetector(master: string, onError?: (err: Error) => void): MasterDetector {
  const text = master.trim();
  if (isEtcdUrl(text)) {
    const location = parseEtcdUrl(text);
    if ('error' in location) throw new Error(`--master: ${location.error}`);
    return EtcdMasterDetector.start(new EtcdClient(location), location.prefix, {
      ownsClient: true,
      description: text,
      ...(onError === undefined ? {} : { onError }),
    });
  }
  const hostPort = text.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!/^(\[[0-9a-fA-F:]+\]|[^\s:/]+):\d{1,5}$/.test(hostPort)) {
    throw new Error(`--master: "${master}" is neither HOST:PORT nor etcd://HOST:PORT[,HOST:PORT...]; write e.g. 127.0.0.1:5050`);
  }
  return new StandaloneMasterDetector(`http://${hostPort}`);
}
