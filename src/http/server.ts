/**
 * The HTTP server shell shared by master and agent: fastify with agora's error mapping. Bodies
 * are read as text and decoded by the handlers (src/api), so every v1 rule about content
 * types is applied in one place (v1-call.ts) instead of by fastify's parsers.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AgoraError } from '../base/index.js';

export interface HttpServerOptions {
  logger: Logger;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes?: number;
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024 * 1024,
    keepAliveTimeout: 75_000,
    // Streams live for hours; only idle non-streaming sockets are closed by keepAliveTimeout.
    connectionTimeout: 0,
    forceCloseConnections: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: unknown, request, reply) => {
    if (error instanceof AgoraError) {
      void reply.code(error.httpStatus).headers(error.headers).type('text/plain; charset=utf-8').send(error.message);
      return;
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // fastify's own refusals (body too large, bad framing) keep their status.
      void reply.code(status).type('text/plain; charset=utf-8').send((error as Error).message);
      return;
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    void reply.code(500).type('text/plain; charset=utf-8').send('Internal error; see the daemon log');
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send(`No endpoint ${request.method} ${request.url.split('?')[0]}`);
  });
  return app;
}

/** The request body as text ('' when absent). */
export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : '';
}
