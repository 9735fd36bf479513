/**
 * Malformed calls to `POST /api/v1/scheduler` get the status codes of facts sections 0 and 1,
 * with text naming what is wrong, and leave the cluster healthy: a task still runs afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../src/http/index.js';
import { postSchedulerRaw } from '../src/cli/scheduler-client.js';
import { type Cluster, masterState, startCluster, stopCluster } from './support/cluster.js';
import { TestFramework, commandTask } from './support/framework.js';

let cluster: Cluster | undefined;
let fw: TestFramework;
const user = 'agora-test';

beforeAll(async () => {
  cluster = await startCluster();
  fw = await TestFramework.subscribe({ master: cluster.master, name: 'e2e-malformed' });
});

afterAll(async () => {
  await fw?.teardown().catch(() => undefined);
  await stopCluster(cluster);
});

const subscribeBody = (frameworkInfo: Record<string, unknown>) =>
  JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo } });

describe('malformed scheduler calls', () => {
  it('answers 400 to a body that is not JSON', async () => {
    const r = await postSchedulerRaw(cluster!.master, '{"type": "SUBSCRIBE",');
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/JSON/);
  });

  it('answers 400 naming framework_info.user when it is missing', async () => {
    const r = await postSchedulerRaw(cluster!.master, subscribeBody({ name: 'no-user' }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/framework_info\.user/);
  });

  it('answers 400 to a SUBSCRIBE that carries a Mesos-Stream-Id', async () => {
    const r = await postSchedulerRaw(cluster!.master, subscribeBody({ user, name: 'x' }), {
      headers: { 'Mesos-Stream-Id': fw.client.streamId },
    });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/Mesos-Stream-Id/i);
  });

  it('answers 400 naming task_id when a launched task id is not valid', async () => {
    const offer = await fw.takeOffer();
    const task = { ...commandTask('ok', 'true'), task_id: { value: 'bad/id' }, agent_id: offer.agent_id };
    const r = await fw.client.send({
      type: 'ACCEPT',
      accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }] },
    });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/task_infos\[0\]\.task_id/);
    // A refused call changes nothing: the offer is still ours, and the last test launches on it
    // (a consumed offer would turn that launch into TASK_DROPPED).
    fw.offers.set(offer.id.value, offer);
  });

  it('answers 400 naming the field when a required field of a call is missing', async () => {
    const r = await fw.client.send({ type: 'KILL', kill: { agent_id: { value: 'a' } } });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/kill\.task_id/);
  });

  it('answers 400 when Mesos-Stream-Id is missing or is not the framework\'s stream', async () => {
    const body = JSON.stringify({ framework_id: { value: fw.frameworkId }, type: 'REVIVE' });
    const missing = await fw.client.raw(body, { streamId: null });
    expect(missing.status).toBe(400);
    expect(missing.text).toMatch(/Mesos-Stream-Id/i);
    const wrong = await fw.client.raw(body, { streamId: '00000000-0000-4000-8000-000000000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toMatch(/Mesos-Stream-Id|stream/i);
  });

  it('answers 400 when the framework id is unknown', async () => {
    const r = await fw.client.raw(JSON.stringify({ framework_id: { value: 'no-such-framework' }, type: 'REVIVE' }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/Framework cannot be found|no-such-framework/);
  });

  it('answers 400 without a Content-Type and 415 to text/plain', async () => {
    const none = await request(`${cluster!.masterUrl}/api/v1/scheduler`, undefined, {
      method: 'POST',
      headers: { 'Mesos-Stream-Id': fw.client.streamId },
    });
    expect(none.status).toBe(400);
    const text = await fw.client.raw(JSON.stringify({ framework_id: { value: fw.frameworkId }, type: 'REVIVE' }), {
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });

  it('answers 405 with Allow: POST to a GET', async () => {
    const r = await request(`${cluster!.masterUrl}/api/v1/scheduler`, undefined, { method: 'GET' });
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('POST');
  });

  it('answers 403 to a call from a framework that is not subscribed now', async () => {
    const gone = await TestFramework.subscribe({ master: cluster!.master, name: 'goes-away', info: { failover_timeout: 60 } });
    gone.close();
    // The master notices the closed stream asynchronously.
    let status = 0;
    for (let i = 0; i < 50 && status !== 403; i++) {
      status = (await gone.client.send({ type: 'REVIVE' })).status;
      if (status !== 403) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(403);
  });

  it("answers 501 to an UNKNOWN call, and 400 naming 'type' to a type that is not in the enum", async () => {
    // As Mesos: UNKNOWN parses and is not implemented; a string outside the enum fails to parse.
    const unknown = await fw.client.send({ type: 'UNKNOWN' });
    expect(unknown.status).toBe(501);
    const bogus = await fw.client.send({ type: 'NO_SUCH_CALL' });
    expect(bogus.status).toBe(400);
    expect(bogus.text).toMatch(/type/);
  });

  it('is still healthy afterwards: the same framework runs a task to TASK_FINISHED', async () => {
    expect((await request(`${cluster!.masterUrl}/health`, undefined)).status).toBe(200);
    await fw.launch([commandTask('after-abuse', 'true')]);
    expect((await fw.waitForTerminal('after-abuse')).state).toBe('TASK_FINISHED');
    const state = await masterState(cluster!);
    expect(state.slaves.every((s) => s.active)).toBe(true);
    expect(fw.client.isConnected).toBe(true);
  });
});
