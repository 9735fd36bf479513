/**
 * Lenient JSON decoding with Mesos's rules (stout's JSON <-> protobuf mapping): `null` means
 * absent, unknown fields are ignored, 64-bit integers arrive as numbers or numeric strings.
 * A failure names the field, so a 400 tells the caller exactly what to fix.
 */
import { z } from 'zod';
import { AgoraError } from '../base/index.js';

/** JSON.parse that drops null members, so `"x": null` reads as if x were absent. */
export function parseJsonLenient(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => (value === null ? undefined : value));
}

/** An integer (int32/int64/uint64) given as a JSON number or a numeric string. */
export const int = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/, 'expected an integer')
    .transform((s) => Number(s)),
]);

/** A double given as a JSON number or a numeric string. */
export const double = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^-?Infinity$|^NaN$/, 'expected a number')
    .transform((s) => Number(s)),
]);

/** Mesos `bytes` fields are base64 strings in JSON. */
export const bytes = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64 text');

/** Decodes `value` with `schema`, or throws a 400 AgoraError naming the first bad field. */
export function decodeOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new AgoraError('AGORA_ERR_VALIDATION', describeIssues(result.error, what));
}

/** Decodes a JSON request body: parse errors and schema errors both become 400s. */
export function decodeJsonBody<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  let value: unknown;
  try {
    value = parseJsonLenient(text);
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `Failed to parse body into JSON: ${(err as Error).message}`);
  }
  return decodeOrThrow(schema, value, what);
}

export function describeIssues(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  if (issue === undefined) return `Failed to validate ${what}`;
  const path = [what, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
    .join('.')
    .replace(/\.\[/g, '[');
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  const detail = missing ? 'required field is missing' : issue.message;
  return `Failed to validate ${what}: ${path}: ${detail}`;
}
