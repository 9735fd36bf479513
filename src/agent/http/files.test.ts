import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdNames } from '../../containerizer/index.js';
import { createHttpServer } from '../../http/index.js';
import { modeString, registerFilesEndpoints } from './files.js';
import { SandboxPaths } from './sandbox-paths.js';

let workDir: string;
let sandbox: string;
let app: FastifyInstance;
const virtual = '/frameworks/f1/executors/t1/runs/latest';

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-files-'));
  const runs = join(workDir, 'slaves/S0/frameworks/f1/executors/t1/runs');
  sandbox = join(runs, 'c1');
  mkdirSync(join(sandbox, 'sub'), { recursive: true });
  symlinkSync('c1', join(runs, 'latest'));
  writeFileSync(join(sandbox, 'stdout'), 'hello world\n');
  writeFileSync(join(sandbox, 'stderr'), '');
  writeFileSync(join(sandbox, 'report.json'), '{"ok":true}');
  chmodSync(join(sandbox, 'stdout'), 0o640);
  writeFileSync(join(workDir, 'secret'), 'agent-only');
  symlinkSync('/etc/passwd', join(sandbox, 'passwd-link'));
  symlinkSync(workDir, join(sandbox, 'workdir-link'));
  symlinkSync('stdout', join(sandbox, 'stdout-link'));

  app = createHttpServer({ logger: pino({ level: 'silent' }) });
  const lookup = (f: string, e: string) => (f === 'f1' && e === 't1' ? runs : undefined);
  registerFilesEndpoints(app, new SandboxPaths(workDir, lookup), new IdNames());
  await app.ready();
});

afterAll(async () => {
  await app.close();
  rmSync(workDir, { recursive: true, force: true });
});

const get = (url: string) => app.inject({ method: 'GET', url });
const q = encodeURIComponent;

describe('/files/browse', () => {
  it('lists a sandbox by its virtual path, as Mesos shapes entries', async () => {
    const res = await get(`/files/browse?path=${q(virtual)}`);
    expect(res.statusCode).toBe(200);
    const entries = res.json() as Array<Record<string, unknown>>;
    expect(entries.map((e) => e.path)).toEqual([
      `${virtual}/passwd-link`,
      `${virtual}/report.json`,
      `${virtual}/stderr`,
      `${virtual}/stdout`,
      `${virtual}/stdout-link`,
      `${virtual}/sub`,
      `${virtual}/workdir-link`,
    ]);
    const stdout = entries.find((e) => e.path === `${virtual}/stdout`)!;
    expect(stdout).toMatchObject({ size: 12, nlink: 1, mode: '-rw-r-----' });
    expect(typeof stdout.mtime).toBe('number');
    if (process.getuid?.() === 0) expect(stdout).toMatchObject({ uid: 'root', gid: 'root' });
    expect(entries.find((e) => e.path === `${virtual}/sub`)!.mode).toMatch(/^d/);
    expect(entries.find((e) => e.path === `${virtual}/passwd-link`)!.mode).toMatch(/^l/);
  });

  it('lists the same sandbox by its real host path', async () => {
    const res = await get(`/files/browse?path=${q(sandbox)}`);
    expect(res.statusCode).toBe(200);
    expect((res.json() as Array<{ path: string }>)[0]!.path).toBe(`${sandbox}/passwd-link`);
  });

  it('answers a file path with that one file', async () => {
    const res = await get(`/files/browse?path=${q(`${virtual}/stdout`)}`);
    expect(res.json()).toEqual([expect.objectContaining({ path: `${virtual}/stdout`, size: 12 })]);
  });

  // Functions: the table is built before beforeAll has made the directories.
  it.each<[string, () => string]>([
    ['a .. escape from the virtual path', () => `${virtual}/../../../../../../../../etc`],
    ['a .. escape from the real path', () => `${sandbox}/../../../../../../../../secret`],
    ['a path outside the sandboxes', () => '/etc'],
    ['the work dir itself', () => workDir],
    ['a file of the agent in its work dir', () => join(workDir, 'secret')],
    ['the runs directory above the sandbox', () => join(sandbox, '..')],
    ['a symlink to a file outside', () => `${virtual}/passwd-link`],
    ['a symlink to a directory outside', () => `${virtual}/workdir-link`],
    ['a path below a symlink that leaves', () => `${virtual}/workdir-link/secret`],
  ])('refuses %s with 403', async (_what, path) => {
    const res = await get(`/files/browse?path=${q(path())}`);
    expect(res.statusCode).toBe(403);
    expect(res.body).toMatch(/refused/);
  });

  it('answers 404 for what does not exist, and 400 for a missing or relative path', async () => {
    expect((await get(`/files/browse?path=${q(`${virtual}/nope`)}`)).statusCode).toBe(404);
    expect((await get(`/files/browse?path=${q('/frameworks/f9/executors/t1/runs/latest')}`)).statusCode).toBe(403);
    const missing = await get('/files/browse');
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toMatch(/'path'/);
    expect((await get('/files/browse?path=stdout')).statusCode).toBe(400);
  });
});

describe('/files/read', () => {
  const read = (params: string) => get(`/files/read?path=${q(`${virtual}/stdout`)}&${params}`);

  it('reads a window of a file', async () => {
    expect((await read('offset=0&length=5')).json()).toEqual({ offset: 0, data: 'hello' });
    expect((await read('offset=6')).json()).toEqual({ offset: 6, data: 'world\n' });
  });

  it('answers offset=-1 (and no offset) with the file size and no data', async () => {
    expect((await read('offset=-1')).json()).toEqual({ offset: 12, data: '' });
    expect((await get(`/files/read?path=${q(`${virtual}/stdout`)}`)).json()).toEqual({ offset: 12, data: '' });
  });

  it('returns no data at or beyond the end of the file', async () => {
    expect((await read('offset=12&length=10')).json()).toEqual({ offset: 12, data: '' });
    expect((await read('offset=500')).json()).toEqual({ offset: 500, data: '' });
  });

  it('follows a symlink that stays inside the sandbox', async () => {
    const res = await get(`/files/read?path=${q(`${virtual}/stdout-link`)}&offset=0`);
    expect(res.json()).toEqual({ offset: 0, data: 'hello world\n' });
  });

  it('refuses bad parameters with a 400 naming them', async () => {
    const bad = await read('offset=abc');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/'offset'/);
    const negative = await read('offset=0&length=-5');
    expect(negative.statusCode).toBe(400);
    expect(negative.body).toMatch(/'length'/);
    expect((await get(`/files/read?path=${q(virtual)}&offset=0`)).statusCode).toBe(400);
  });

  it('refuses files outside the sandboxes', async () => {
    expect((await get(`/files/read?path=${q('/etc/passwd')}&offset=0`)).statusCode).toBe(403);
    expect((await get(`/files/read?path=${q(`${virtual}/passwd-link`)}&offset=0`)).statusCode).toBe(403);
    expect((await get(`/files/read?path=${q(`${virtual}/%2e%2e/%2e%2e/secret`)}&offset=0`)).statusCode).toBe(404);
  });
});

describe('/files/download', () => {
  it('sends the raw bytes with a content type by extension', async () => {
    const res = await get(`/files/download?path=${q(`${virtual}/report.json`)}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="report.json"');
    expect(res.body).toBe('{"ok":true}');
    const plain = await get(`/files/download?path=${q(`${virtual}/stdout`)}`);
    expect(plain.headers['content-type']).toMatch(/octet-stream/);
  });

  it('refuses directories and paths outside', async () => {
    expect((await get(`/files/download?path=${q(virtual)}`)).statusCode).toBe(400);
    expect((await get(`/files/download?path=${q('/etc/passwd')}`)).statusCode).toBe(403);
  });
});

describe('modeString', () => {
  it.each([
    [0o40755, 'drwxr-xr-x'],
    [0o100644, '-rw-r--r--'],
    [0o104755, '-rwsr-xr-x'],
    [0o41777, 'drwxrwxrwt'],
    [0o120777, 'lrwxrwxrwx'],
    [0o102640, '-rw-r-S---'],
  ])('formats %o as %s', (mode, text) => {
    expect(modeString(mode)).toBe(text);
  });
});
