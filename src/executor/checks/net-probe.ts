/**
 * HTTP and TCP probes, written once as a self-contained script. A task with its own network
 * namespace is probed by a `node -e` process started inside that namespace (Node cannot setns);
 * a task on the host's network is probed in this process by the same code. The script is plain
 * JavaScript in a string so that it runs alike from src/ (tests) and dist/, with no file to ship.
 */
import { createRequire } from 'node:module';
import { runInThisContext } from 'node:vm';
import type { ProbeResult } from './results.js';

/** curl's --max-redirs default, which Mesos's `curl -L` uses. */
export const MAX_REDIRECTS = 50;

export interface NetProbeRequest {
  type: 'HTTP' | 'TCP';
  /** HTTP: the URL; TCP: unused. */
  url?: string;
  host: string;
  port: number;
}

interface NetProbes {
  http(url: string, signal?: AbortSignal): Promise<ProbeResult>;
  tcp(host: string, port: number, signal?: AbortSignal): Promise<ProbeResult>;
}

/**
 * Evaluates to `function (require) { return { http, tcp, main } }`. HTTP: GET, redirects
 * followed (relative or absolute, any host, as `curl -L`), certificates not verified (`curl -k`),
 * the final status reported. TCP: a connection established, then closed. `main` reads one
 * NetProbeRequest (JSON) from argv and prints one ProbeResult (JSON).
 */
export const NET_PROBE_SCRIPT = String.raw`(function (require) {
  'use strict';
  const net = require('node:net');
  const http = require('node:http');
  const https = require('node:https');
  const MAX_REDIRECTS = ${MAX_REDIRECTS};

  function tcp(host, port, signal) {
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      const onAbort = () => done({ type: 'failed', message: 'aborted' });
      function done(result) {
        socket.destroy();
        if (signal) signal.removeEventListener('abort', onAbort);
        resolve(result);
      }
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => done({ type: 'TCP', succeeded: true }));
      socket.once('error', (err) => done({ type: 'TCP', succeeded: false, message: err.code || err.message }));
    });
  }

  function get(url, redirectsLeft, signal) {
    return new Promise((resolve) => {
      let target;
      try {
        target = new URL(url);
      } catch (err) {
        return resolve({ type: 'failed', message: 'bad URL ' + url });
      }
      const lib = target.protocol === 'https:' ? https : http;
      const options = { agent: false, rejectUnauthorized: false, headers: { 'User-Agent': 'agora-check', Connection: 'close' } };
      if (signal) options.signal = signal;
      const request = lib.get(target, options, (response) => {
        response.resume();
        const status = response.statusCode || 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location) {
          if (redirectsLeft === 0) return resolve({ type: 'failed', message: 'more than ' + MAX_REDIRECTS + ' redirects' });
          return resolve(get(new URL(location, target).href, redirectsLeft - 1, signal));
        }
        resolve({ type: 'HTTP', statusCode: status });
      });
      request.on('error', (err) => resolve({ type: 'failed', message: err.code === 'ABORT_ERR' ? 'aborted' : err.message }));
    });
  }

  async function main() {
    const probe = JSON.parse(process.argv[1]);
    const result = probe.type === 'TCP' ? await tcp(probe.host, probe.port) : await get(probe.url, MAX_REDIRECTS);
    process.stdout.write(JSON.stringify(result));
  }

  return { http: (url, signal) => get(url, MAX_REDIRECTS, signal), tcp, main };
})`;

/** `node -e` source that runs one probe from argv[1]. */
export const NET_PROBE_MAIN = `${NET_PROBE_SCRIPT}(require).main().catch((err) => { process.stdout.write(JSON.stringify({ type: 'failed', message: String(err) })); });`;

let local: NetProbes | undefined;

/** The probes, evaluated in this process (for tasks on the host's network). */
export function localNetProbes(): NetProbes {
  local ??= (runInThisContext(NET_PROBE_SCRIPT) as (require: NodeJS.Require) => NetProbes)(createRequire(import.meta.url));
  return local;
}
