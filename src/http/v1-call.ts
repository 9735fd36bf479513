/**
 * The request rules every Mesos v1 API shares (facts section 0): POST only, a Content-Type
 * that is present and JSON, an Accept that allows JSON. agora reads and writes JSON only;
 * protobuf bodies are answered 415 with a message saying so.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgoraError } from '../base/index.js';

export const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';

/** Throws the AgoraError the v1 APIs answer for a request they cannot take. */
export function checkV1Request(request: FastifyRequest): void {
  if (request.method !== 'POST') {
    throw new AgoraError('AGORA_ERR_METHOD_NOT_ALLOWED', `Expecting a 'POST' request, received '${request.method}'`, {
      headers: { Allow: 'POST' },
    });
  }
  const contentType = request.headers['content-type'];
  if (contentType === undefined || contentType.trim() === '') {
    throw new AgoraError('AGORA_ERR_NO_CONTENT_TYPE', "Expecting 'Content-Type' to be present; send 'application/json'");
  }
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === PROTOBUF_TYPE) {
    throw new AgoraError(
      'AGORA_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Content-Type '${contentType}' is not supported yet: agora reads '${JSON_TYPE}' bodies`,
    );
  }
  if (mediaType !== JSON_TYPE) {
    throw new AgoraError(
      'AGORA_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Expecting 'Content-Type' of '${JSON_TYPE}' (or '${PROTOBUF_TYPE}'), received '${contentType}'`,
    );
  }
  if (!acceptsJson(request.headers.accept)) {
    throw new AgoraError(
      'AGORA_ERR_NOT_ACCEPTABLE',
      `Expecting 'Accept' to allow '${JSON_TYPE}'; agora answers in JSON only`,
    );
  }
}

function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return type === JSON_TYPE || type === 'application/*' || type === '*/*';
  });
}

/** Answers 202 Accepted with an empty body, as every queued v1 call does. */
export function accepted(reply: FastifyReply): FastifyReply {
  return reply.code(202).send();
}
