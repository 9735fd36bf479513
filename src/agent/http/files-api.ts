/**
 * LIST_FILES and READ_FILE on the agent's Operator API (facts 3.3, 4.3): `/files/browse` and
 * `/files/read` as v1 calls, behind the same sandbox guard (SandboxPaths). Unlike `/files/read`,
 * READ_FILE answers bytes (base64), so a reader can follow a file by offsets exactly.
 */
import type { Stats } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import type { AgentOperatorCall } from '../../api/index.js';
import { AgoraError, type ErrorCode } from '../../base/index.js';
import type { IdNames } from '../../containerizer/index.js';
import type { OperatorAnswer, OperatorHandlers } from './operator-handlers.js';
import type { PathRefusal, ResolvedPath, SandboxPaths } from './sandbox-paths.js';

/** Mesos caps one READ_FILE at 16 memory pages. */
export const MAX_READ_FILE_LENGTH = 16 * 4096;

export function filesHandlers(paths: SandboxPaths, names: IdNames): OperatorHandlers {
  return {
    LIST_FILES: (call) => listFiles(call, paths, names),
    READ_FILE: (call) => readFileCall(call, paths),
  };
}

async function listFiles(call: AgentOperatorCall, paths: SandboxPaths, names: IdNames): Promise<OperatorAnswer> {
  const path = call.list_files?.path;
  if (path === undefined) throw validation('agent.Call.list_files.path: required for LIST_FILES');
  const target = await resolve(paths, path);
  const info = await statOf(target);
  await names.refresh();
  let fileInfos: Record<string, unknown>[];
  if (!info.isDirectory()) {
    fileInfos = [fileInfo(target.requested, info, names)];
  } else {
    fileInfos = [];
    for (const name of (await readdir(target.real)).sort()) {
      // lstat: a symlink is listed as a link, and what it points to (maybe outside) is not revealed.
      const entry = await lstat(`${target.real}/${name}`).catch(() => undefined);
      const child = target.requested === '/' ? `/${name}` : `${target.requested}/${name}`;
      if (entry !== undefined) fileInfos.push(fileInfo(child, entry, names));
    }
  }
  return { status: 200, body: { type: 'LIST_FILES', list_files: { file_infos: fileInfos } } };
}

async function readFileCall(call: AgentOperatorCall, paths: SandboxPaths): Promise<OperatorAnswer> {
  const read = call.read_file;
  if (read === undefined) throw validation('agent.Call.read_file: required for READ_FILE (path and offset)');
  if (read.offset < 0) throw validation(`agent.Call.read_file.offset: must be 0 or more, got ${read.offset}`);
  if (read.length !== undefined && read.length < 0) throw validation(`agent.Call.read_file.length: must be 0 or more, got ${read.length}`);
  const target = await resolve(paths, read.path);
  const info = await statOf(target);
  if (info.isDirectory()) throw validation(`agent.Call.read_file.path: '${target.requested}' is a directory; list it with LIST_FILES`);
  const want = Math.max(0, Math.min(read.length ?? MAX_READ_FILE_LENGTH, MAX_READ_FILE_LENGTH, info.size - read.offset));
  let data = Buffer.alloc(0);
  if (want > 0) {
    const handle = await open(target.real, 'r');
    try {
      const buffer = Buffer.alloc(want);
      const { bytesRead } = await handle.read(buffer, 0, want, read.offset);
      data = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  return { status: 200, body: { type: 'READ_FILE', read_file: { size: info.size, data: data.toString('base64') } } };
}

async function resolve(paths: SandboxPaths, path: string): Promise<ResolvedPath> {
  const target = await paths.resolve(path);
  if ('status' in target) throw refusal(target);
  return target;
}

/** A path that vanished since it was resolved is a 404, not a 500. */
async function statOf(target: ResolvedPath): Promise<Stats> {
  const info = await stat(target.real).catch(() => undefined);
  if (info === undefined) throw new AgoraError('AGORA_ERR_NOT_FOUND', `No such file or directory: '${target.requested}'`);
  return info;
}

/** Mesos's `FileInfo`: mode is st_mode as a number, mtime a TimeInfo, uid and gid names. */
function fileInfo(path: string, info: Stats, names: IdNames): Record<string, unknown> {
  return {
    path,
    nlink: info.nlink,
    size: info.size,
    mtime: { nanoseconds: Math.floor(info.mtimeMs) * 1_000_000 },
    mode: info.mode,
    uid: String(names.user(info.uid)),
    gid: String(names.group(info.gid)),
  };
}

const REFUSAL_CODES: Record<PathRefusal['status'], ErrorCode> = {
  400: 'AGORA_ERR_VALIDATION',
  403: 'AGORA_ERR_FORBIDDEN',
  404: 'AGORA_ERR_NOT_FOUND',
};

function refusal(refused: PathRefusal): AgoraError {
  return new AgoraError(REFUSAL_CODES[refused.status], refused.message);
}

function validation(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}
