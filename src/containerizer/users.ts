/**
 * The system user database, as the containerizer needs it: a task's user name to uid/gid, and
 * uid/gid back to names for sandbox listings. Reads /etc/passwd and /etc/group, then NSS.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * Finds `name` in /etc/passwd, then through `getent passwd` (LDAP, sssd and other NSS sources).
 * Returns undefined when the user does not exist on this machine.
 */
export async function lookupUser(name: string): Promise<UserEntry | undefined> {
  const local = parsePasswd(await readText('/etc/passwd')).find((u) => u.name === name);
  if (local !== undefined) return local;
  return parsePasswd(await getent('passwd', name)).find((u) => u.name === name);
}

/** Whether the agent runs as root and can therefore run tasks as other users. */
export function agentIsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The name of the user the agent runs as (for tasks when it cannot switch users). */
export function agentUserName(): string {
  return userInfo().username;
}

const NAMES_TTL_MS = 30_000;

/** uid and gid to names for `/files/browse`, refreshed every 30 s; numbers stay numbers if unknown. */
export class IdNames {
  private users = new Map<number, string>();
  private groups = new Map<number, string>();
  private loadedAtMs = -Infinity;

  async refresh(): Promise<void> {
    if (Date.now() - this.loadedAtMs < NAMES_TTL_MS) return;
    this.loadedAtMs = Date.now();
    this.users = new Map(parsePasswd(await readText('/etc/passwd')).map((u) => [u.uid, u.name]));
    this.groups = new Map(parseGroup(await readText('/etc/group')).map((g) => [g.gid, g.name]));
  }

  user(uid: number): string | number {
    return this.users.get(uid) ?? uid;
  }

  group(gid: number): string | number {
    return this.groups.get(gid) ?? gid;
  }
}

export function parsePasswd(text: string): UserEntry[] {
  const out: UserEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === undefined || name === '' || name.startsWith('#') || !isId(uid) || !isId(gid)) continue;
    out.push({ name, uid: Number(uid), gid: Number(gid), home: home ?? '/' });
  }
  return out;
}

function parseGroup(text: string): Array<{ name: string; gid: number }> {
  const out: Array<{ name: string; gid: number }> = [];
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name !== undefined && name !== '' && isId(gid)) out.push({ name, gid: Number(gid) });
  }
  return out;
}

function isId(text: string | undefined): text is string {
  return text !== undefined && /^\d+$/.test(text);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/** `getent <db> <key>`; empty text when getent is missing or the key is unknown. */
function getent(db: string, key: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('getent', [db, key], { timeout: 5_000 }, (err, stdout) => resolve(err === null ? stdout : ''));
  });
}
