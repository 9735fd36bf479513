/**
 * Content-addressed blobs of the image store: `<store>/blobs/sha256/<hex>`, written once, only
 * after their sha256 matched the digest that names them. Layers shared by images are stored once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const SHA256 = /^sha256:([a-f0-9]{64})$/;

/** Throws unless `digest` is `sha256:<64 lowercase hex>`, the only algorithm agora verifies. */
export function assertDigest(digest: string, what: string): string {
  const match = SHA256.exec(digest);
  if (match === null) throw new Error(`${what} has digest '${digest}', which is not sha256:<64 hex digits>`);
  return match[1]!;
}

export class DigestMismatchError extends Error {
  override readonly name = 'DigestMismatchError';
}

export class BlobStore {
  constructor(readonly dir: string) {}

  path(digest: string): string {
    return join(this.dir, 'sha256', assertDigest(digest, 'blob'));
  }

  async has(digest: string): Promise<boolean> {
    return stat(this.path(digest)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /**
   * Streams `source` into the store under `digest`. The bytes go to a temporary file that is
   * renamed into place only when their sha256 is `digest`; otherwise DigestMismatchError.
   */
  async put(digest: string, source: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<string> {
    const final = this.path(digest);
    const temp = join(this.dir, 'tmp', `${randomUUID()}.partial`);
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      const input = source instanceof Readable ? source : Readable.from(source);
      await pipeline(input, hasher, createWriteStream(temp, { mode: 0o644 }), signal === undefined ? {} : { signal });
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) throw new DigestMismatchError(`content has digest ${actual}, not the ${digest} it was fetched as`);
      await rename(temp, final);
      return final;
    } finally {
      await rm(temp, { force: true });
    }
  }

  /**
   * Moves `file` (on the store's filesystem) into the store. With `digest` the content must
   * match it; without, the file's own sha256 names it. Returns the digest.
   */
  async adopt(file: string, digest?: string): Promise<string> {
    const actual = await digestOfFile(file);
    if (digest !== undefined && actual !== digest) {
      throw new DigestMismatchError(`content has digest ${actual}, not the ${digest} it is named by`);
    }
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    await rename(file, this.path(actual));
    return actual;
  }

  /** Stores a local file (copying it), verified like put(). */
  putFile(digest: string, file: string, signal?: AbortSignal): Promise<string> {
    return this.put(digest, createReadStream(file), signal);
  }
}

/** sha256 of a local file, as `sha256:<hex>`. */
export async function digestOfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return `sha256:${hash.digest('hex')}`;
}

export function digestOfBytes(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
