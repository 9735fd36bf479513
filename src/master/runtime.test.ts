import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { EventStream } from '../http/index.js';
import { MasterHarness } from './core/harness.js';
import type { Registry } from './registry/index.js';
import { type RegistryOperation, emptyRegistry } from './registry/state.js';
import { MasterRuntime } from './runtime.js';

/** A registry whose writes finish only when the test says so. */
class GatedRegistry implements Registry {
  readonly writes: Array<{ operation: RegistryOperation; finish: (error?: Error) => void }> = [];
  async load() {
    return emptyRegistry();
  }
  apply(operation: RegistryOperation): Promise<void> {
    return new Promise((resolve, reject) => this.writes.push({ operation, finish: (error) => (error === undefined ? resolve() : reject(error)) }));
  }
}

function recordingStream(): EventStream & { sent: unknown[] } {
  const sent: unknown[] = [];
  return { sent, send: (e: unknown) => sent.push(e) > 0, close: () => undefined, onClose: () => undefined } as unknown as EventStream & { sent: unknown[] };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('MasterRuntime and the registry', () => {
  it('answers an operator call and carries out later effects only once the change is stored', async () => {
    const registry = new GatedRegistry();
    const runtime = new MasterRuntime(new MasterHarness().core, pino({ level: 'silent' }), registry);
    let answered = false;
    const reply = runtime.operatorCall({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'eng', weight: 2 }] } }).then((r) => {
      answered = true;
      return r;
    });
    // A framework subscribes meanwhile: its SUBSCRIBED waits behind the write.
    const stream = recordingStream();
    runtime.subscribeFramework({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n' } } }, undefined, () => stream);
    await tick();
    expect(registry.writes.map((w) => w.operation.type)).toEqual(['UPDATE_WEIGHTS']);
    expect(answered).toBe(false);
    expect(stream.sent).toEqual([]);
    registry.writes[0]!.finish();
    expect(await reply).toEqual({ status: 200 });
    expect(stream.sent.map((e) => (e as { type: string }).type)).toEqual(['SUBSCRIBED']);
    runtime.stop();
  });

  it('hands writes to the registry at once, and holds each later effect only until the writes before it are stored', async () => {
    const registry = new GatedRegistry();
    const runtime = new MasterRuntime(new MasterHarness().core, pino({ level: 'silent' }), registry);
    const weights = (role: string) => runtime.operatorCall({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role, weight: 2 }] } });
    const answered: string[] = [];
    const first = weights('a').then(() => answered.push('a'));
    const stream = recordingStream();
    runtime.subscribeFramework({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n' } } }, undefined, () => stream);
    const second = weights('b').then(() => answered.push('b'));
    await tick();
    // Both writes are in flight together (a registry may store them in one go).
    expect(registry.writes.map((w) => w.operation.type)).toEqual(['UPDATE_WEIGHTS', 'UPDATE_WEIGHTS']);
    registry.writes[0]!.finish();
    await first;
    await tick();
    // SUBSCRIBED came after the first write only; the second call still waits for its own.
    expect(stream.sent.map((e) => (e as { type: string }).type)).toEqual(['SUBSCRIBED']);
    expect(answered).toEqual(['a']);
    registry.writes[1]!.finish();
    await second;
    expect(answered).toEqual(['a', 'b']);
    runtime.stop();
  });

  it('answers 503 and reports a fatal error when the registry cannot store a change', async () => {
    const registry = new GatedRegistry();
    const fatal: Error[] = [];
    const runtime = new MasterRuntime(new MasterHarness().core, pino({ level: 'silent' }), registry, (err) => fatal.push(err));
    const reply = runtime.operatorCall({ type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'eng', weight: 2 }] } });
    await tick();
    registry.writes[0]!.finish(new Error('disk full'));
    const outcome = await reply;
    expect((outcome as { httpStatus?: number }).httpStatus).toBe(503);
    expect(fatal.map((e) => e.message)).toEqual(['disk full']);
    runtime.stop();
  });
});
