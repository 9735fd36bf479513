import { describe, expect, it } from 'vitest';
import { RecordIoDecoder, RecordIoError, encodeRecord } from './recordio.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('RecordIO', () => {
  it('frames a record as its byte length, a newline and the payload', () => {
    expect(text(encodeRecord('{"type":"HEARTBEAT"}'))).toBe('20\n{"type":"HEARTBEAT"}');
  });

  it('counts bytes, not characters, for non-ASCII payloads', () => {
    expect(text(encodeRecord('"é"'))).toBe('4\n"é"');
  });

  it('decodes records split across arbitrary chunk boundaries', () => {
    const stream = new Uint8Array([...encodeRecord('{"a":1}'), ...encodeRecord('{"b":"ü"}'), ...encodeRecord('[]')]);
    for (let size = 1; size <= stream.length; size++) {
      const decoder = new RecordIoDecoder();
      const records: string[] = [];
      for (let i = 0; i < stream.length; i += size) records.push(...decoder.push(stream.subarray(i, i + size)));
      expect(records).toEqual(['{"a":1}', '{"b":"ü"}', '[]']);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('keeps a partial record until the rest arrives', () => {
    const decoder = new RecordIoDecoder();
    expect(decoder.push(new TextEncoder().encode('7\n{"a":'))).toEqual([]);
    expect(decoder.push(new TextEncoder().encode('1}'))).toEqual(['{"a":1}']);
  });

  it('rejects a length line that is not a number', () => {
    const decoder = new RecordIoDecoder();
    expect(() => decoder.push(new TextEncoder().encode('abc\n{}'))).toThrow(RecordIoError);
  });

  it('rejects a record larger than the limit', () => {
    const decoder = new RecordIoDecoder(10);
    expect(() => decoder.push(new TextEncoder().encode('11\n'))).toThrow(/exceeds/);
  });
});
