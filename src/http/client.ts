/**
 * Client side of agora's HTTP APIs: JSON calls and RecordIO event streams over node:http with
 * keep-alive, shared by the agent's link to the master, the CLI, tests and benchmarks.
 */
import http from 'node:http';
import { RecordIoDecoder } from '../api/index.js';

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Sends a request and reads the whole answer. Rejects only on network failure or timeout. */
export function request(url: string, body: string | undefined, options: RequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        agent: keepAlive,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          Accept: 'application/json',
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs a JSON call; returns the response as is. */
export function postJson(url: string, call: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return request(url, JSON.stringify(call), { headers });
}

export interface EventStreamClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every decoded record, in order; ends when the server closes the stream. */
  events: AsyncIterable<unknown>;
  close(): void;
}

/**
 * POSTs a subscribe call and, on 200, hands back the open RecordIO stream. On any other status
 * the body is read and returned as an error text, with `events` empty.
 */
export function openEventStream(
  url: string,
  call: unknown,
  headers: Record<string, string> = {},
): Promise<EventStreamClient & { errorText?: string }> {
  return new Promise((resolve, reject) => {
    // Streams get their own socket: a long-lived response must not hold a pooled connection.
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.socket.setNoDelay(true);
      const close = () => {
        res.destroy();
        req.destroy();
      };
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            events: (async function* () {})(),
            close,
            errorText: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        return;
      }
      resolve({ status: 200, headers: res.headers, events: decodeEvents(res), close });
    });
    req.end(JSON.stringify(call));
  });
}

async function* decodeEvents(res: http.IncomingMessage): AsyncGenerator<unknown> {
  const decoder = new RecordIoDecoder();
  try {
    for await (const chunk of res) {
      for (const record of decoder.push(chunk as Buffer)) yield JSON.parse(record);
    }
  } catch (err) {
    // A reset connection is how streams usually end; callers see the iteration finish.
    if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET' && (err as Error).message !== 'aborted') throw err;
  }
}
