import { describe, expect, it } from 'vitest';
import { planImageLaunch, resolveImageUser, type ImageRuntimeConfig, type TaskCommand } from './runtime-config.js';

const EP = ['/ep', 'e1'];
const CMD = ['/cmd', 'c1'];
const images: Record<string, ImageRuntimeConfig> = {
  none: {},
  cmd: { Cmd: CMD },
  ep: { Entrypoint: EP },
  both: { Entrypoint: EP, Cmd: CMD },
};

// The table of Mesos's docs/isolators/docker-runtime.md, row by row (E = error).
const table: Array<[string, TaskCommand, Record<string, string[] | 'E'>]> = [
  ['sh=0 value=0 argv=0', { shell: false }, { none: 'E', cmd: ['/cmd', 'c1'], ep: ['/ep', 'e1'], both: ['/ep', 'e1', '/cmd', 'c1'] }],
  ['sh=0 value=0 argv=1', { shell: false, arguments: ['a1'] }, { none: 'E', cmd: ['/cmd', 'a1'], ep: ['/ep', 'e1', 'a1'], both: ['/ep', 'e1', 'a1'] }],
  ['sh=0 value=1 argv=0', { shell: false, value: '/v' }, { none: ['/v'], cmd: ['/v'], ep: ['/v'], both: ['/v'] }],
  ['sh=0 value=1 argv=1', { shell: false, value: '/v', arguments: ['v', 'a1'] }, { none: ['v', 'a1'], cmd: ['v', 'a1'], ep: ['v', 'a1'], both: ['v', 'a1'] }],
  ['sh=1 value=0 argv=0', { shell: true }, { none: 'E', cmd: 'E', ep: 'E', both: 'E' }],
  ['sh=1 value=0 argv=1', { shell: true, arguments: ['a1'] }, { none: 'E', cmd: 'E', ep: 'E', both: 'E' }],
  ['sh=1 value=1 argv=0', { shell: true, value: 'echo hi' }, { none: ['sh', 'echo hi'], cmd: ['sh', 'echo hi'], ep: ['sh', 'echo hi'], both: ['sh', 'echo hi'] }],
  ['sh=1 value=1 argv=1', { value: 'echo hi', arguments: ['x'] }, { none: ['sh', 'echo hi'], cmd: ['sh', 'echo hi'], ep: ['sh', 'echo hi'], both: ['sh', 'echo hi'] }],
];

describe("the launch command of an image task (Mesos's docker/runtime table)", () => {
  for (const [row, command, expected] of table) {
    for (const [image, want] of Object.entries(expected)) {
      it(`${row}, image with ${image}`, () => {
        const plan = planImageLaunch({ command, env: {}, taskEnv: {} }, images[image]!);
        if (want === 'E') {
          expect(plan).toHaveProperty('error');
          return;
        }
        if ('error' in plan) throw new Error(plan.error);
        if (plan.command.shell) expect(['sh', plan.command.value]).toEqual(want);
        else {
          expect(plan.command.argv).toEqual(want);
          expect(plan.command.value).toBe(command.value ?? want[0]);
        }
      });
    }
  }

  it('errors name the field to fix', () => {
    expect(planImageLaunch({ command: { shell: true }, env: {}, taskEnv: {} }, {})).toEqual({ error: expect.stringMatching(/CommandInfo.value/) });
    expect(planImageLaunch({ command: { shell: false }, env: {}, taskEnv: {} }, {})).toEqual({ error: expect.stringMatching(/neither an Entrypoint nor a Cmd/) });
  });
});

describe('environment, working directory and user of an image task', () => {
  const image: ImageRuntimeConfig = { Env: ['PATH=/img/bin', 'LANG=C.UTF-8', 'ODD', 'EQ=a=b'], WorkingDir: '/work', User: 'app' };

  it("puts the image's Env over the agent's and under the task's", () => {
    const plan = planImageLaunch(
      { command: { value: 'true' }, env: { PATH: '/usr/bin', MESOS_TASK_ID: 't', LANG: 'task' }, taskEnv: { LANG: 'task' } },
      image,
    );
    if ('error' in plan) throw new Error(plan.error);
    expect(plan.env).toEqual({ PATH: '/img/bin', MESOS_TASK_ID: 't', LANG: 'task', EQ: 'a=b' });
    expect(plan.workingDir).toBe('/work');
  });

  it("runs as the task's user when it has one, else the image's", () => {
    const withTaskUser = planImageLaunch({ command: { value: 'true' }, env: {}, taskEnv: {}, user: 'alice' }, image);
    const withoutTaskUser = planImageLaunch({ command: { value: 'true' }, env: {}, taskEnv: {} }, image);
    expect(withTaskUser).toMatchObject({ user: 'alice' });
    expect(withoutTaskUser).toMatchObject({ user: 'app' });
    expect(planImageLaunch({ command: { value: 'true' }, env: {}, taskEnv: {} }, {})).not.toHaveProperty('user');
  });

  it("resolves a Docker User against the image's own passwd and group files", () => {
    const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n';
    const group = 'root:x:0:\nstaff:x:50:\n';
    expect(resolveImageUser('app', passwd, group)).toEqual({ name: 'app', uid: 1000, gid: 1001 });
    expect(resolveImageUser('1000', passwd, group)).toEqual({ name: 'app', uid: 1000, gid: 1001 });
    expect(resolveImageUser('4242:50', passwd, group)).toEqual({ name: '4242', uid: 4242, gid: 50 });
    expect(resolveImageUser('app:staff', passwd, group)).toEqual({ name: 'app', uid: 1000, gid: 50 });
    expect(resolveImageUser('nobody', passwd, group)).toBeUndefined();
    expect(resolveImageUser('app:nogroup', passwd, group)).toBeUndefined();
  });
});
