import { describe, expect, it } from 'vitest';
import { AgoraError } from '../base/index.js';
import { decodeJsonBody, parseJsonLenient } from './decode.js';
import { SchedulerCall } from './scheduler.js';
import { TaskInfo } from './task.js';

describe('lenient JSON decoding', () => {
  it('treats null as absent and ignores unknown fields', () => {
    const call = decodeJsonBody(
      SchedulerCall,
      '{"type":"DECLINE","framework_id":null,"decline":{"offer_ids":[{"value":"o1"}],"filters":null},"surprise":1}',
      'scheduler.Call',
    );
    expect(call).toEqual({ type: 'DECLINE', decline: { offer_ids: [{ value: 'o1' }] } });
  });

  it('reads 64-bit integers given as numbers or numeric strings', () => {
    const task = TaskInfo.parse(
      parseJsonLenient(
        '{"name":"t","task_id":{"value":"t1"},"agent_id":{"value":"a"},"kill_policy":{"grace_period":{"nanoseconds":"3000000000"}},' +
          '"resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":"31000","end":31005}]}}]}',
      ),
    );
    expect(task.kill_policy?.grace_period?.nanoseconds).toBe(3_000_000_000);
    expect(task.resources?.[0]?.ranges?.range?.[0]).toEqual({ begin: 31000, end: 31005 });
  });

  it('names the missing field in a 400', () => {
    try {
      decodeJsonBody(SchedulerCall, '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}', 'scheduler.Call');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AgoraError);
      expect((err as AgoraError).httpStatus).toBe(400);
      expect((err as AgoraError).message).toContain('scheduler.Call.subscribe.framework_info.user');
    }
  });

  it('rejects task ids that cannot be used in paths', () => {
    const bad = { name: 't', task_id: { value: 'a/b' }, agent_id: { value: 'a' } };
    expect(TaskInfo.safeParse(bad).success).toBe(false);
  });

  it('answers a body that is not JSON with a 400 saying so', () => {
    expect(() => decodeJsonBody(SchedulerCall, '{not json', 'scheduler.Call')).toThrow(/Failed to parse body into JSON/);
  });
});
