import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessHelper, shellQuote } from './helper.js';

const helper = new ProcessHelper();
afterAll(() => helper.close());

describe('ProcessHelper', () => {
  it('runs argv without a shell in between, and answers with its status and output', async () => {
    expect(await helper.run(['/bin/echo', "it's $HOME; `x`"])).toEqual({ code: 0, output: "it's $HOME; `x`" });
    expect(await helper.run(['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ code: 3, output: 'out\nerr' });
    expect((await helper.run(['/nonexistent/tool'])).code).toBe(127);
  });

  it('runs many jobs at once and matches each answer to its job', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => helper.run(['/bin/sh', '-c', `sleep 0.0${i % 5}; echo ${i}`])));
    expect(results.map((r) => r.output)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('starts a new shell when its shell has died', async () => {
    await helper.run(['/bin/true']);
    const shell = (helper as unknown as { child: ChildProcess }).child;
    const exited = new Promise((resolve) => shell.once('exit', resolve));
    shell.kill('SIGKILL');
    await exited;
    expect(await helper.run(['/bin/echo', 'again'])).toEqual({ code: 0, output: 'again' });
  });

  it('quotes any word, and refuses newlines (one line is one job)', () => {
    expect(shellQuote("a'b c")).toBe(`'a'\\''b c'`);
    expect(() => shellQuote('a\nb')).toThrow(/cannot pass/);
  });
});
