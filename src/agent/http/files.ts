/**
 * The agent's `/files` endpoints (facts 4.3): browse, read and download inside sandboxes, with
 * Mesos's shapes. Which paths are allowed is decided by SandboxPaths alone.
 */
import { createReadStream, type Stats } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IdNames } from '../../containerizer/index.js';
import type { PathRefusal, ResolvedPath, SandboxPaths } from './sandbox-paths.js';

type Query = Record<string, string | undefined>;

/** Mesos reads 16 pages when no length is given. */
const DEFAULT_READ_LENGTH = 16 * 4096;
/** A bound on one read, so one request cannot make the agent hold a huge file in memory. */
const MAX_READ_LENGTH = 16 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.json': 'application/json',
  '.html': 'text/html',
  '.css': 'text/css',
  '.js': 'application/javascript',
  '.xml': 'application/xml',
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.zip': 'application/zip',
};

export function registerFilesEndpoints(app: FastifyInstance, paths: SandboxPaths, names: IdNames): void {
  const route = (name: string, handler: (query: Query, reply: FastifyReply) => Promise<FastifyReply>) => {
    for (const path of [`/files/${name}`, `/files/${name}.json`]) {
      app.get(path, (request: FastifyRequest, reply: FastifyReply) => handler(request.query as Query, reply));
    }
  };

  route('browse', async (query, reply) => {
    const target = await resolveParam(paths, query, reply);
    if (target === undefined) return reply;
    await names.refresh();
    const info = await statOf(target, reply);
    if (info === undefined) return reply;
    if (!info.isDirectory()) return reply.send([fileJson(target.requested, info, names)]);
    const entries = [];
    for (const name of (await readdir(target.real)).sort()) {
      // lstat: a symlink is listed as a link, and what it points to (maybe outside) is not revealed.
      const entry = await lstat(`${target.real}/${name}`).catch(() => undefined);
      const path = target.requested === '/' ? `/${name}` : `${target.requested}/${name}`;
      if (entry !== undefined) entries.push(fileJson(path, entry, names));
    }
    return reply.send(entries);
  });

  route('read', async (query, reply) => {
    const offset = intParam(query, 'offset', -1);
    const length = intParam(query, 'length', -1);
    for (const [name, value] of [['offset', offset], ['length', length]] as const) {
      if (typeof value === 'string') return refuse(reply, { status: 400, message: value });
      if (value < -1) return refuse(reply, { status: 400, message: `'${name}' must be -1 or more, got ${value}` });
    }
    const target = await resolveParam(paths, query, reply);
    if (target === undefined) return reply;
    const info = await statOf(target, reply);
    if (info === undefined) return reply;
    if (info.isDirectory()) return refuse(reply, { status: 400, message: `Cannot read '${target.requested}': it is a directory` });
    const from = offset as number;
    // As Mesos: offset -1 asks for the size; reading at or past the end returns no data.
    if (from === -1) return reply.send({ offset: info.size, data: '' });
    if (from >= info.size) return reply.send({ offset: from, data: '' });
    const want = Math.min(length === -1 ? DEFAULT_READ_LENGTH : (length as number), MAX_READ_LENGTH, info.size - from);
    const handle = await open(target.real, 'r');
    try {
      const buffer = Buffer.alloc(want);
      const { bytesRead } = await handle.read(buffer, 0, want, from);
      return reply.send({ offset: from, data: buffer.subarray(0, bytesRead).toString('utf8') });
    } finally {
      await handle.close();
    }
  });

  route('download', async (query, reply) => {
    const target = await resolveParam(paths, query, reply);
    if (target === undefined) return reply;
    const info = await statOf(target, reply);
    if (info === undefined) return reply;
    if (info.isDirectory()) return refuse(reply, { status: 400, message: `Cannot download '${target.requested}': it is a directory` });
    const name = basename(target.real);
    return reply
      .type(CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream')
      .header('Content-Length', info.size)
      .header('Content-Disposition', `attachment; filename="${name.replace(/["\\]/g, '_')}"`)
      .send(createReadStream(target.real));
  });
}

/** The `path` parameter, resolved; on refusal the reply is sent and undefined returned. */
async function resolveParam(paths: SandboxPaths, query: Query, reply: FastifyReply): Promise<ResolvedPath | undefined> {
  const path = query['path'];
  if (path === undefined || path === '') {
    refuse(reply, { status: 400, message: "Expecting 'path' query parameter, e.g. ?path=/frameworks/<id>/executors/<id>/runs/latest" });
    return undefined;
  }
  const target = await paths.resolve(path);
  if ('status' in target) {
    refuse(reply, target);
    return undefined;
  }
  return target;
}

/** Stats a resolved path; one that vanished since is a 404 (sent), not a 500. */
async function statOf(target: ResolvedPath, reply: FastifyReply): Promise<Stats | undefined> {
  const info = await stat(target.real).catch(() => undefined);
  if (info === undefined) refuse(reply, { status: 404, message: `No such file or directory: '${target.requested}'` });
  return info;
}

function refuse(reply: FastifyReply, refusal: PathRefusal): FastifyReply {
  return reply.code(refusal.status).type('text/plain; charset=utf-8').send(refusal.message);
}

/** An integer query parameter, its default when absent, or an error text naming it. */
function intParam(query: Query, name: string, fallback: number): number | string {
  const text = query[name];
  if (text === undefined || text === '') return fallback;
  if (!/^-?\d+$/.test(text)) return `Failed to parse '${name}': expected an integer, got '${text}'`;
  return Number(text);
}

function fileJson(path: string, info: Stats, names: IdNames): Record<string, unknown> {
  return {
    path,
    nlink: info.nlink,
    size: info.size,
    mtime: Math.floor(info.mtimeMs / 1000),
    mode: modeString(info.mode),
    uid: names.user(info.uid),
    gid: names.group(info.gid),
  };
}

/** "drwxr-xr-x" as ls prints it, setuid/setgid/sticky included. */
export function modeString(mode: number): string {
  const type = typeChar(mode & 0o170000);
  const bit = (mask: number, char: string) => ((mode & mask) !== 0 ? char : '-');
  const exec = (mask: number, special: number, set: string, unset: string) => {
    const x = (mode & mask) !== 0;
    if ((mode & special) === 0) return x ? 'x' : '-';
    return x ? set : unset;
  };
  return (
    type +
    bit(0o400, 'r') + bit(0o200, 'w') + exec(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + exec(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + exec(0o001, 0o1000, 't', 'T')
  );
}

function typeChar(format: number): string {
  switch (format) {
    case 0o040000:
      return 'd';
    case 0o120000:
      return 'l';
    case 0o020000:
      return 'c';
    case 0o060000:
      return 'b';
    case 0o010000:
      return 'p';
    case 0o140000:
      return 's';
    default:
      return '-';
  }
}
