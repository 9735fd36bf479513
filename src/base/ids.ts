/**
 * Sources of identifiers. Cores take an IdSource so that tests and the simulator get the
 * same ids from the same seed; the shell uses random UUIDs.
 */
export interface IdSource {
  /** A UUID string (8-4-4-4-12 hex). */
  uuid(): string;
}

/** Deterministic UUIDs from a counter and a seed, for tests and the simulator. */
export class SequentialIds implements IdSource {
  private next = 0;

  constructor(private readonly seed = 0) {}

  uuid(): string {
    const n = this.next++;
    const hex = (this.seed * 0x100000000 + n).toString(16).padStart(32, '0').slice(-32);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

/** Parses a UUID string into its 16 bytes; undefined when it is not one. */
export function uuidToBytes(uuid: string): Uint8Array | undefined {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function bytesToUuid(bytes: Uint8Array): string | undefined {
  if (bytes.length !== 16) return undefined;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Mesos sends UUIDs in JSON as base64 of their 16 bytes. */
export function uuidToBase64(uuid: string): string {
  const bytes = uuidToBytes(uuid);
  if (bytes === undefined) throw new RangeError(`not a UUID: ${uuid}`);
  return base64Encode(bytes);
}

export function base64ToUuid(b64: string): string | undefined {
  const bytes = base64Decode(b64);
  return bytes === undefined ? undefined : bytesToUuid(bytes);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 without Node's Buffer, so cores stay free of node:* modules. */
export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += B64[b0 >> 2]!;
    out += B64[((b0 & 3) << 4) | ((b1 ?? 0) >> 4)]!;
    out += b1 === undefined ? '=' : B64[((b1 & 15) << 2) | ((b2 ?? 0) >> 6)]!;
    out += b2 === undefined ? '=' : B64[b2 & 63]!;
  }
  return out;
}

export function base64Decode(text: string): Uint8Array | undefined {
  const clean = text.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const ch of clean) {
    value = (value << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 0xff;
    }
  }
  return out;
}
