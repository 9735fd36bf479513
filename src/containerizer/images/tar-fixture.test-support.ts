/**
 * Tests only: writes tar archives byte by byte (ustar headers), so tests can build the layers
 * a well-behaved tool refuses to make: `..` paths, absolute links, whiteouts, setuid files.
 */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev';
  content?: string | Buffer;
  linkpath?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

const TYPE_FLAG = { file: '0', hardlink: '1', symlink: '2', chardev: '3', dir: '5' } as const;

function header(entry: TarEntry, size: number): Buffer {
  const buf = Buffer.alloc(512);
  const type = entry.type ?? 'file';
  const put = (text: string, offset: number, length: number) => buf.write(text, offset, length, 'utf8');
  // Octal digits and a NUL (the buffer is zero-filled).
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');
  let name = entry.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  put(name, 0, 100);
  put(octal(entry.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 8);
  put(octal(entry.uid ?? 0, 8), 108, 8);
  put(octal(entry.gid ?? 0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  put('        ', 148, 8);
  put(TYPE_FLAG[type], 156, 1);
  put(entry.linkpath ?? '', 157, 100);
  put('ustar\u000000', 257, 8);
  put(prefix, 345, 155);
  let sum = 0;
  for (const byte of buf) sum += byte;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return buf;
}

/** A tar archive of `entries`, in order. */
export function makeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.type === undefined || entry.type === 'file' ? Buffer.from(entry.content ?? '') : Buffer.alloc(0);
    parts.push(header(entry, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function makeTarGz(entries: TarEntry[]): Buffer {
  return gzipSync(makeTar(entries));
}
