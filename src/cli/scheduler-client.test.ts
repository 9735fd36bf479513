import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecord } from '../api/index.js';
import { SchedulerCallError, SchedulerClient } from './scheduler-client.js';

/** A scripted master: answers SUBSCRIBE with `onSubscribe`, records every other call. */
function fakeMaster(onSubscribe: (res: http.ServerResponse) => void) {
  const calls: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, unknown> }> = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      if (body['type'] === 'SUBSCRIBE') return onSubscribe(res);
      calls.push({ headers: req.headers, body });
      res.writeHead(202).end();
    });
  });
  return new Promise<{ master: string; calls: typeof calls; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        master: `127.0.0.1:${port}`,
        calls,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
    }),
  );
}

const SUBSCRIBED = {
  type: 'SUBSCRIBED',
  subscribed: { framework_id: { value: 'fw-1' }, heartbeat_interval_seconds: 15, master_info: { id: 'm', ip: 0, port: 1 } },
};
const frameworkInfo = { user: 'u', name: 'n' };

function openStream(res: http.ServerResponse, streamId = 'stream-1'): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Mesos-Stream-Id': streamId });
  res.write(encodeRecord(JSON.stringify(SUBSCRIBED)));
}

let cleanup: Array<() => void> = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});

describe('SchedulerClient', () => {
  it('keeps the stream id and sends it, with the framework id, on every other call', async () => {
    let stream: http.ServerResponse | undefined;
    const fake = await fakeMaster((res) => {
      stream = res;
      openStream(res);
    });
    cleanup.push(fake.close);
    const client = await SchedulerClient.subscribe({ master: fake.master, frameworkInfo });
    cleanup.push(() => client.close());
    expect(client.frameworkId).toBe('fw-1');
    expect(client.streamId).toBe('stream-1');

    await client.revive();
    await client.kill('t1', 'a1', 2000);
    expect(fake.calls.map((c) => c.headers['mesos-stream-id'])).toEqual(['stream-1', 'stream-1']);
    expect(fake.calls[0]!.body).toEqual({ framework_id: { value: 'fw-1' }, type: 'REVIVE', revive: { roles: [] } });
    expect(fake.calls[1]!.body['kill']).toEqual({
      task_id: { value: 't1' },
      agent_id: { value: 'a1' },
      kill_policy: { grace_period: { nanoseconds: 2_000_000_000 } },
    });

    // Events come out of the iterator in order, SUBSCRIBED first.
    stream!.write(encodeRecord(JSON.stringify({ type: 'HEARTBEAT' })));
    stream!.write(encodeRecord(JSON.stringify({ type: 'RESCIND', rescind: { offer_id: { value: 'o1' } } })));
    const seen: string[] = [];
    for await (const event of client) {
      seen.push(event.type);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['SUBSCRIBED', 'HEARTBEAT', 'RESCIND']);
  });

  it('hands events that came with SUBSCRIBED, before any listener, to the first listener', async () => {
    const offers = { type: 'OFFERS', offers: { offers: [] } };
    const fake = await fakeMaster((res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Mesos-Stream-Id': 's' });
      // One write: both records reach the client in the same chunk.
      res.write(Buffer.concat([encodeRecord(JSON.stringify(SUBSCRIBED)), encodeRecord(JSON.stringify(offers))]));
    });
    cleanup.push(fake.close);
    const client = await SchedulerClient.subscribe({ master: fake.master, frameworkInfo });
    cleanup.push(() => client.close());
    await new Promise((r) => setTimeout(r, 50));
    const first: string[] = [];
    const second: string[] = [];
    client.on((e) => first.push(e.type));
    client.on((e) => second.push(e.type));
    expect(first).toEqual(['SUBSCRIBED', 'OFFERS']);
    expect(second).toEqual([]);
  });

  it('acknowledges only updates that carry a uuid', async () => {
    const fake = await fakeMaster((res) => openStream(res));
    cleanup.push(fake.close);
    const client = await SchedulerClient.subscribe({ master: fake.master, frameworkInfo });
    cleanup.push(() => client.close());
    const base = { task_id: { value: 't' }, agent_id: { value: 'a' }, state: 'TASK_RUNNING' as const };
    expect(await client.acknowledge(base)).toBe(false);
    expect(await client.acknowledge({ ...base, uuid: 'AAAAAAAAAAAAAAAAAAAAAA==' })).toBe(true);
    expect(fake.calls.map((c) => c.body['type'])).toEqual(['ACKNOWLEDGE']);
    expect(fake.calls[0]!.body['acknowledge']).toEqual({
      task_id: { value: 't' },
      agent_id: { value: 'a' },
      uuid: 'AAAAAAAAAAAAAAAAAAAAAA==',
    });
  });

  it('declares the stream dead when heartbeats stop', async () => {
    const fake = await fakeMaster((res) => openStream(res));
    cleanup.push(fake.close);
    const client = await SchedulerClient.subscribe({ master: fake.master, frameworkInfo, heartbeatTimeoutMs: 150 });
    const gone = await client.disconnected;
    expect(gone.reason).toBe('heartbeat');
    expect(client.isConnected).toBe(false);
  });

  it('reports a refused SUBSCRIBE with its status and text, and an ERROR event as an error', async () => {
    const refusing = await fakeMaster((res) => res.writeHead(400).end('Failed to validate scheduler.Call: user missing'));
    cleanup.push(refusing.close);
    const err = await SchedulerClient.subscribe({ master: refusing.master, frameworkInfo }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchedulerCallError);
    expect((err as SchedulerCallError).status).toBe(400);
    expect((err as Error).message).toMatch(/user missing/);

    const erroring = await fakeMaster((res) => {
      res.writeHead(200, { 'Mesos-Stream-Id': 's' });
      res.write(encodeRecord(JSON.stringify({ type: 'ERROR', error: { message: 'not allowed' } })));
    });
    cleanup.push(erroring.close);
    await expect(SchedulerClient.subscribe({ master: erroring.master, frameworkInfo })).rejects.toThrow(/not allowed/);
  });

  it('says the master is unreachable when nothing listens', async () => {
    await expect(SchedulerClient.subscribe({ master: '127.0.0.1:1', frameworkInfo })).rejects.toThrow(
      /cannot reach the master at 127.0.0.1:1 \(ECONNREFUSED\)/,
    );
  });

  it('follows a standby\'s 307 to the leader, and talks to the leader from then on', async () => {
    let stream: http.ServerResponse | undefined;
    const leader = await fakeMaster((res) => {
      stream = res;
      openStream(res);
    });
    cleanup.push(leader.close);
    const standby = http.createServer((_req, res) => res.writeHead(307, { Location: `//${leader.master}/api/v1/scheduler` }).end());
    await new Promise<void>((resolve) => standby.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => standby.close());
    const client = await SchedulerClient.subscribe({ master: `127.0.0.1:${(standby.address() as AddressInfo).port}`, frameworkInfo });
    expect(client.endpoint).toBe(`http://${leader.master}/api/v1/scheduler`);
    await client.revive();
    expect(leader.calls.map((c) => c.body['type'])).toEqual(['REVIVE']);
    client.close();
    stream?.end();
  });

  it('lets a first waitFor pick an event that came together with SUBSCRIBED', async () => {
    const fake = await fakeMaster((res) => {
      openStream(res);
      res.write(encodeRecord(JSON.stringify({ type: 'HEARTBEAT' })));
    });
    cleanup.push(fake.close);
    const client = await SchedulerClient.subscribe({ master: fake.master, frameworkInfo });
    await new Promise((r) => setTimeout(r, 50));
    expect(await client.waitFor((e) => (e.type === 'HEARTBEAT' ? 'beat' : undefined), 1_000)).toBe('beat');
    client.close();
  });
});
