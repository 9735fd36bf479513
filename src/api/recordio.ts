/**
 * RecordIO framing of Mesos streams: "<decimal byte length>\n<payload>", repeated, with no
 * delimiter after the payload. Chunk boundaries mean nothing, so the decoder works on bytes.
 */
const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/** Frames one JSON record as bytes ready to be written. */
export function encodeRecord(payload: string): Uint8Array {
  const body = encoder.encode(payload);
  const header = encoder.encode(`${body.length}\n`);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/**
 * Incremental decoder: feed it chunks as they arrive; it returns every record completed by
 * the chunk. Throws RecordIoError on a malformed length line, which ends the stream.
 */
export class RecordIoDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  private readonly decoder = new TextDecoder();

  constructor(private readonly maxRecordBytes = 64 * 1024 * 1024) {}

  push(chunk: Uint8Array): string[] {
    this.pending = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const records: string[] = [];
    let offset = 0;
    for (;;) {
      const newline = this.pending.indexOf(NEWLINE, offset);
      if (newline === -1) break;
      const lengthText = this.decoder.decode(this.pending.subarray(offset, newline)).trim();
      if (lengthText === '') {
        offset = newline + 1; // Tolerate blank lines between records.
        continue;
      }
      if (!/^\d+$/.test(lengthText)) throw new RecordIoError(`bad record length "${lengthText.slice(0, 20)}"`);
      const length = Number(lengthText);
      if (length > this.maxRecordBytes) throw new RecordIoError(`record of ${length} bytes exceeds the limit`);
      const start = newline + 1;
      if (this.pending.length - start < length) break;
      records.push(this.decoder.decode(this.pending.subarray(start, start + length)));
      offset = start + length;
    }
    this.pending = offset === 0 ? this.pending : this.pending.slice(offset);
    if (this.pending.length > this.maxRecordBytes + 32) throw new RecordIoError('record header never ends');
    return records;
  }

  /** Bytes received that do not yet form a whole record. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}

export class RecordIoError extends Error {
  override readonly name = 'RecordIoError';
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
