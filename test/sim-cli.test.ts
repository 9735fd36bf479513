import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('agora sim run', () => {
  it('runs the small scenario in CI with every invariant holding, and replays it exactly from its seed', async () => {
    const once = async () => JSON.parse((await run(process.execPath, ['dist/cli/main.js', 'sim', 'run', 'scenarios/small.json', '--json'])).stdout);
    const [first, second] = await Promise.all([once(), once()]);
    expect(first.violations).toEqual([]);
    expect(first.tasksFinished).toBe(8000);
    expect(first.tasksRunningAtEnd).toBe(100);
    expect(second.digest).toBe(first.digest);
  });

  it('names the bad field of a broken scenario and exits 1', async () => {
    const failure = await run(process.execPath, ['dist/cli/main.js', 'sim', 'run', 'package.json']).catch((err: { code: number; stderr: string }) => err);
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr).toMatch(/^agora sim: .*scenario\.(durationSeconds|agents)/m);
  });
});
