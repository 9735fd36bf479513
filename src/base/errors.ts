/**
 * The one catalog of operational errors at agora's edges (HTTP, disk, processes). Each code
 * has one HTTP status, mapped here and nowhere else. Bugs are assertions (assert.ts), and
 * expected refusals inside cores are returned as data, never thrown.
 */
export const ERROR_CODES = {
  /** A request body or field is malformed or missing. */
  AGORA_ERR_VALIDATION: 400,
  /** The request has no Content-Type header. */
  AGORA_ERR_NO_CONTENT_TYPE: 400,
  /** A call needs a Mesos-Stream-Id header that is missing or does not match. */
  AGORA_ERR_STREAM_ID: 400,
  /** The framework id in a call is unknown to the master. */
  AGORA_ERR_UNKNOWN_FRAMEWORK: 400,
  /** The framework is known but has no subscription stream now. */
  AGORA_ERR_NOT_SUBSCRIBED: 403,
  /** The caller may not reach this resource (a path outside every sandbox). */
  AGORA_ERR_FORBIDDEN: 403,
  /** A path that does not exist (files, endpoints). */
  AGORA_ERR_NOT_FOUND: 404,
  /** The endpoint exists, but not for this HTTP method. */
  AGORA_ERR_METHOD_NOT_ALLOWED: 405,
  /** The response cannot be encoded in any type the client accepts. */
  AGORA_ERR_NOT_ACCEPTABLE: 406,
  /** The request is valid but cannot be applied to the state as it is (resources in use). */
  AGORA_ERR_CONFLICT: 409,
  /** The request body is in an encoding agora does not read. */
  AGORA_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  /** A call type agora knows of but does not implement yet. */
  AGORA_ERR_NOT_IMPLEMENTED: 501,
  /** The daemon cannot answer now (recovering, shutting down). */
  AGORA_ERR_UNAVAILABLE: 503,
  /** A bug or an unexpected failure. */
  AGORA_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AgoraError extends Error {
  override readonly name = 'AgoraError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions & { headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
  }

  readonly headers: Record<string, string>;

  get httpStatus(): number {
    return ERROR_CODES[this.code];
  }
}

export function validationError(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}
