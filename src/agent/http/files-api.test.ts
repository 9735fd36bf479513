import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdNames } from '../../containerizer/index.js';
import { createHttpServer } from '../../http/index.js';
import type { AgentCore } from '../core/index.js';
import { MAX_READ_FILE_LENGTH } from './files-api.js';
import { registerOperatorApi } from './operator.js';
import { SandboxPaths } from './sandbox-paths.js';
import type { AgentDescription } from './views.js';

let workDir: string;
let sandbox: string;
let app: FastifyInstance;
const virtual = '/frameworks/f1/executors/t1/runs/latest';
const big = Buffer.alloc(MAX_READ_FILE_LENGTH + 100, 'x');

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-files-api-'));
  const runs = join(workDir, 'slaves/S0/frameworks/f1/executors/t1/runs');
  sandbox = join(runs, 'c1');
  mkdirSync(join(sandbox, 'sub'), { recursive: true });
  symlinkSync('c1', join(runs, 'latest'));
  writeFileSync(join(sandbox, 'stdout'), 'hello\nwörld\n');
  writeFileSync(join(sandbox, 'big'), big);
  writeFileSync(join(workDir, 'secret'), 'agent-only');
  app = createHttpServer({ logger: pino({ level: 'silent' }) });
  const lookup = (f: string, e: string) => (f === 'f1' && e === 't1' ? runs : undefined);
  registerOperatorApi(app, unused<AgentCore>, unused<AgentDescription>, () => [], {
    files: { paths: new SandboxPaths(workDir, lookup), names: new IdNames() },
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  rmSync(workDir, { recursive: true, force: true });
});

function unused<T>(): T {
  throw new Error('not used by these calls');
}

const call = (body: unknown) =>
  app.inject({ method: 'POST', url: '/api/v1', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describe('LIST_FILES', () => {
  it('lists a sandbox by its virtual path as Mesos FileInfos (mode a number, mtime a TimeInfo)', async () => {
    const response = await call({ type: 'LIST_FILES', list_files: { path: virtual } });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { type: string; list_files: { file_infos: Array<Record<string, unknown>> } };
    expect(body.type).toBe('LIST_FILES');
    expect(body.list_files.file_infos.map((f) => f['path'])).toEqual([`${virtual}/big`, `${virtual}/stdout`, `${virtual}/sub`]);
    const stdout = body.list_files.file_infos[1]!;
    const info = statSync(join(sandbox, 'stdout'));
    expect(stdout).toEqual({
      path: `${virtual}/stdout`,
      nlink: 1,
      size: Buffer.byteLength('hello\nwörld\n'),
      mtime: { nanoseconds: Math.floor(info.mtimeMs) * 1_000_000 },
      mode: info.mode,
      uid: expect.any(String),
      gid: expect.any(String),
    });
  });

  it('lists one file as itself', async () => {
    const response = await call({ type: 'LIST_FILES', list_files: { path: `${sandbox}/stdout` } });
    expect((response.json() as { list_files: { file_infos: unknown[] } }).list_files.file_infos).toHaveLength(1);
  });

  it('refuses what /files refuses: outside the sandboxes 403, missing 404, no path 400', async () => {
    expect((await call({ type: 'LIST_FILES', list_files: { path: workDir } })).statusCode).toBe(403);
    expect((await call({ type: 'LIST_FILES', list_files: { path: `${sandbox}/../../../../../../../secret` } })).statusCode).toBe(403);
    expect((await call({ type: 'LIST_FILES', list_files: { path: `${virtual}/nope` } })).statusCode).toBe(404);
    const missing = await call({ type: 'LIST_FILES', list_files: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toMatch(/list_files\.path/);
  });
});

describe('READ_FILE', () => {
  const read = async (path: string, offset: number, length?: number) => {
    const response = await call({ type: 'READ_FILE', read_file: { path, offset, ...(length === undefined ? {} : { length }) } });
    const body = response.json() as { type: string; read_file: { size: number; data: string } };
    return { status: response.statusCode, type: body.type, size: body.read_file.size, data: Buffer.from(body.read_file.data, 'base64') };
  };

  it('answers bytes (base64) from an offset, with the file size', async () => {
    const whole = await read(`${virtual}/stdout`, 0);
    expect(whole).toMatchObject({ status: 200, type: 'READ_FILE', size: 13 });
    expect(whole.data.toString()).toBe('hello\nwörld\n');
    // A read that splits a character still returns exact bytes: a follower keeps exact offsets.
    const part = await read(`${virtual}/stdout`, 6, 2);
    expect([...part.data]).toEqual([0x77, 0xc3]);
  });

  it('returns nothing at or past the end, and caps one read at 16 pages', async () => {
    expect((await read(`${virtual}/stdout`, 13)).data).toHaveLength(0);
    expect((await read(`${virtual}/stdout`, 1000)).data).toHaveLength(0);
    const capped = await read(`${virtual}/big`, 0, big.length);
    expect(capped.size).toBe(big.length);
    expect(capped.data).toHaveLength(MAX_READ_FILE_LENGTH);
  });

  it('names the field it needs, and refuses directories and paths outside', async () => {
    const noOffset = await call({ type: 'READ_FILE', read_file: { path: `${virtual}/stdout` } });
    expect(noOffset.statusCode).toBe(400);
    expect(noOffset.body).toMatch(/agent\.Call\.read_file\.offset/);
    const negative = await call({ type: 'READ_FILE', read_file: { path: `${virtual}/stdout`, offset: -1 } });
    expect(negative.statusCode).toBe(400);
    const dir = await call({ type: 'READ_FILE', read_file: { path: `${virtual}/sub`, offset: 0 } });
    expect(dir.statusCode).toBe(400);
    expect(dir.body).toMatch(/directory/);
    expect((await call({ type: 'READ_FILE', read_file: { path: `${workDir}/secret`, offset: 0 } })).statusCode).toBe(403);
  });
});
