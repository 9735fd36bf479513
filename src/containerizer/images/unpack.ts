/**
 * Layer tarballs to directories, and directories stacked into a root filesystem. Whiteouts
 * (`.wh.<name>`, `.wh..wh..opq`) are recorded, never written; nothing lands outside the target.
 */
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, readlink, realpath, rm, symlink, copyFile, utimes } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join, normalize, posix, sep } from 'node:path';
import * as tar from 'tar';

/** What a layer deletes from the layers below it. Paths are relative to the rootfs, no leading '/'. */
export interface Whiteouts {
  /** Files or directories removed (`dir/.wh.name` -> `dir/name`). */
  deleted: string[];
  /** Directories whose lower contents are hidden (`dir/.wh..wh..opq` -> `dir`; '' is the root). */
  opaque: string[];
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** A layer that could not be unpacked safely: a path escaping the rootfs, a corrupt archive. */
export class UnpackError extends Error {
  override readonly name = 'UnpackError';
}

/** `./a//b/` -> `a/b`; undefined when the path leaves the root (`..`). */
export function entryPath(raw: string): string | undefined {
  const trimmed = posix.normalize(`/${raw}`).slice(1).replace(/\/+$/, '');
  if (trimmed.split('/').includes('..')) return undefined;
  return trimmed;
}

/**
 * Extracts the (optionally gzip-compressed) layer tarball `file` into the empty directory
 * `dest`: file modes (setuid, sticky included), ownership when running as root, symlinks (their
 * targets kept verbatim, absolute ones too), hard links. Entries that would land outside `dest`
 * (`..`, through a symlink) fail the whole layer. Device nodes are skipped: the OCI runtime
 * makes /dev. Returns the layer's whiteouts.
 */
export async function unpackLayer(file: string, dest: string): Promise<Whiteouts> {
  await mkdir(dest, { recursive: true });
  const whiteouts: Whiteouts = { deleted: [], opaque: [] };
  const modes = new Map<string, number>();
  const symlinks = new Map<string, string>();
  const errors: string[] = [];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  try {
    await tar.x({
      file,
      cwd: dest,
      preserveOwner: isRoot,
      strict: false,
      onwarn: (code, message, data) => {
        if (code === 'TAR_ENTRY_ERROR' || code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ABORT') {
          const path = (data as { path?: string } | undefined)?.path;
          errors.push(path === undefined ? message : `${path}: ${message}`);
        }
      },
      filter: (path, entry) => {
        const rel = entryPath(path);
        if (rel === undefined) return true; // tar refuses it and warns; the warning fails the layer
        const base = posix.basename(rel);
        if (base.startsWith(WHITEOUT_PREFIX)) {
          const dir = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
          if (base === OPAQUE_MARKER) whiteouts.opaque.push(dir);
          else if (!base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
            whiteouts.deleted.push(posix.join(dir, base.slice(WHITEOUT_PREFIX.length)));
          }
          return false;
        }
        const type = 'type' in entry ? entry.type : undefined;
        if (type === 'SymbolicLink' && 'linkpath' in entry && typeof entry.linkpath === 'string') {
          symlinks.set(rel, entry.linkpath);
          modes.delete(rel);
        } else if ((type === 'File' || type === 'OldFile' || type === 'ContiguousFile' || type === 'Directory') && typeof entry.mode === 'number') {
          modes.set(rel, entry.mode & 0o7777);
          symlinks.delete(rel);
        }
        return true;
      },
    });
  } catch (err) {
    throw new UnpackError(`cannot read layer archive: ${(err as Error).message}`);
  }
  if (errors.length > 0) {
    throw new UnpackError(`refused ${errors.length} unsafe entr${errors.length === 1 ? 'y' : 'ies'} (${errors.slice(0, 3).join('; ')})`);
  }
  const root = await realpath(dest);
  // tar strips the leading '/' of symlink targets; a symlink's target is data, so put it back.
  for (const [rel, target] of symlinks) {
    const path = join(root, rel);
    if (!(await insideRealDir(root, path))) continue;
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink() !== true || (await readlink(path)) === target) continue;
    const { uid, gid, atime, mtime } = st;
    await rm(path);
    await symlink(target, path);
    if (isRoot) await lchown(path, uid, gid);
    await lutimes(path, atime, mtime);
  }
  // Modes last: the process umask applied at creation, and chown cleared setuid/setgid bits.
  for (const [rel, mode] of modes) {
    const path = rel === '' ? root : join(root, rel);
    if (!(await insideRealDir(root, path))) continue;
    const st = await lstat(path).catch(() => undefined);
    if (st === undefined || st.isSymbolicLink() || (st.mode & 0o7777) === mode) continue;
    await chmod(path, mode);
  }
  return whiteouts;
}

/** Whether `path`'s parent resolves (symlinks followed) to `root` or below it. */
async function insideRealDir(root: string, path: string): Promise<boolean> {
  if (path === root) return true;
  const parent = await realpath(dirname(path)).catch(() => undefined);
  return parent !== undefined && (parent === root || parent.startsWith(root + sep));
}

/**
 * Applies one layer (its unpacked directory and whiteouts) on top of `target`, the copy backend
 * of Mesos's provisioner: whiteouts delete from the layers below, then every entry is copied
 * with its mode, owner, times and links. A symlink already in `target` is replaced, never
 * followed, so a layer can write nowhere but inside `target`.
 */
export async function applyLayer(layerDir: string, whiteouts: Whiteouts, target: string): Promise<void> {
  const root = await realpath(target);
  for (const dir of whiteouts.opaque) {
    const path = dir === '' ? root : join(root, normalizeRel(dir));
    if (!(await insideRealDir(root, path))) continue;
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory() !== true) continue;
    for (const name of await readdir(path)) await rm(join(path, name), { recursive: true, force: true });
  }
  for (const rel of whiteouts.deleted) {
    const path = join(root, normalizeRel(rel));
    if (path === root || !(await insideRealDir(root, path))) continue;
    await rm(path, { recursive: true, force: true });
  }
  await copyTree(layerDir, root, new Map());
}

function normalizeRel(rel: string): string {
  const clean = normalize(`/${rel}`).slice(1);
  if (clean.split(sep).includes('..')) throw new UnpackError(`whiteout path '${rel}' leaves the root filesystem`);
  return clean;
}

const isRootUser = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Copies the contents of `from` into the real directory `to` (see applyLayer). */
async function copyTree(from: string, to: string, links: Map<string, string>): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const st = await lstat(src);
    const existing = await lstat(dst).catch(() => undefined);
    if (st.isDirectory()) {
      if (existing !== undefined && !existing.isDirectory()) await rm(dst, { force: true });
      if (existing === undefined || !existing.isDirectory()) await mkdir(dst, { mode: 0o700 });
      await copyTree(src, dst, links);
      await finish(dst, st);
      continue;
    }
    if (existing !== undefined) await rm(dst, { recursive: true, force: true });
    if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
      if (isRootUser()) await lchown(dst, st.uid, st.gid);
      await lutimes(dst, st.atime, st.mtime);
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        await link(first, dst);
      } else {
        await copyFile(src, dst, constants.COPYFILE_FICLONE);
        if (st.nlink > 1) links.set(key, dst);
        await finish(dst, st);
      }
    }
    // Sockets, fifos and devices are not copied: layers never hold them (unpackLayer skips them).
  }
}

async function finish(path: string, st: { uid: number; gid: number; mode: number; atime: Date; mtime: Date }): Promise<void> {
  if (isRootUser()) await lchown(path, st.uid, st.gid);
  await chmod(path, st.mode & 0o7777);
  await utimes(path, st.atime, st.mtime);
}
