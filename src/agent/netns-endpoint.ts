/**
 * The agent's endpoint inside an executor's own network namespace. An executor on a CNI network
 * (a task group's default executor, whose tasks share its namespace) has a loopback of its own,
 * where the agent's `127.0.0.1:PORT` (MESOS_AGENT_ENDPOINT) is nothing; the agent listens on
 * loopback only. So a listening socket is opened inside that namespace and served by the agent.
 */
import { spawn } from 'node:child_process';
import type { Server, Socket } from 'node:net';

/**
 * Opens a listener on `host:port` inside the network namespace `netnsPath` whose connections go
 * to `onConnection` in this process; resolves with a function that closes it.
 *
 * Node cannot enter a namespace, but a child can (`nsenter --net`), and a listening socket made
 * there keeps its namespace when handed over: the child listens, sends the server over its IPC
 * channel (Node passes the descriptor), and this process accepts on it from then on.
 */
export function listenInNetworkNamespace(
  netnsPath: string,
  host: string,
  port: number,
  onConnection: (socket: Socket) => void,
  timeoutMs = 10_000,
): Promise<() => void> {
  const script = [
    "const server = require('node:net').createServer();",
    "server.once('error', (err) => { process.stderr.write(err.message); process.exit(1); });",
    // Its own copy closes once sent; it exits when this process disconnects.
    `server.listen({ host: ${JSON.stringify(host)}, port: ${port} }, () => process.send('listening', server, () => server.close()));`,
  ].join('\n');
  const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '-e', script], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listener in ${netnsPath} after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('message', (_message, handle) => {
      clearTimeout(timer);
      const server = handle as Server;
      server.on('connection', onConnection);
      child.disconnect();
      resolve(() => server.close());
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start nsenter: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // After a handle arrived this is a no-op: the promise is settled.
      reject(new Error(`cannot listen on ${host}:${port} in ${netnsPath}: ${stderr.trim() || `exited with ${signal ?? code}`}`));
    });
  });
}
