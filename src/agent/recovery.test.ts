import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentInfo, TaskStatus } from '../api/index.js';
import { Containerizer, PosixLauncher } from '../containerizer/index.js';
import { supervisedCommandLine, supervisorDir } from '../containerizer/launchers/posix-supervisor.js';
import { metaPaths } from './checkpoint/layout.js';
import { CheckpointWriter } from './checkpoint/writer.js';
import { recoverAgent } from './recovery.js';

const logger = pino({ level: 'silent' });
let workDir: string;
let stateDir: string;
const groups: number[] = [];

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'agora-recovery-'));
  stateDir = join(workDir, 'runtime', 'posix');
});
afterEach(() => {
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
  rmSync(workDir, { recursive: true, force: true });
});

const agentInfo: AgentInfo = { hostname: 'h1', resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }], attributes: [] };

/** What a previous agent left: its checkpoint of one RUNNING task, and that task's supervised container. */
async function previousAgent(): Promise<number> {
  const writer = new CheckpointWriter(workDir, logger);
  await writer.agent('A-S0', agentInfo);
  const status: TaskStatus = { task_id: { value: 't1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: 'u1' };
  await writer.task({
    agentId: 'A-S0',
    frameworkId: 'f1',
    frameworkInfo: { id: { value: 'f1' }, user: 'root', name: 'fw', checkpoint: true },
    executorId: 't1',
    containerId: 'c1',
    task: { name: 't1', task_id: { value: 't1' }, agent_id: { value: 'A-S0' }, resources: [], command: { value: 'sleep 30' } },
    record: { type: 'UPDATE', status },
  });
  await writer.bootId(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  const sandbox = join(workDir, 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  const spec = { containerId: 'c1', command: { shell: true as const, value: 'exec sleep 30' }, env: { PATH: '/usr/bin:/bin' }, workDir: sandbox, stdoutPath: '/dev/null', stderrPath: '/dev/null' };
  const line = supervisedCommandLine(spec, supervisorDir(stateDir, 'c1'));
  const child = spawn(line.file, line.args, { argv0: line.argv0, cwd: sandbox, env: spec.env, detached: true, stdio: 'ignore' });
  child.unref();
  groups.push(child.pid!);
  await new Promise((r) => setTimeout(r, 100));
  return child.pid!;
}

function recover(options: { strict?: boolean; current?: AgentInfo } = {}) {
  return recoverAgent({
    workDir,
    containerizer: new Containerizer(new PosixLauncher({ stateDir })),
    writer: new CheckpointWriter(workDir, logger),
    current: options.current ?? agentInfo,
    policy: 'additive',
    strict: options.strict ?? true,
    logger,
  });
}

function alive(pid: number): boolean {
  const stat = (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return '';
    }
  })();
  return stat !== '' && !/\) [ZX] /.test(stat);
}

describe('recoverAgent', () => {
  it('reattaches to the running container and gives the core the agent id, framework and run', async () => {
    const pid = await previousAgent();
    const result = await recover();
    expect(result.adopted.map((a) => [a.container.containerId, a.container.pid])).toEqual([['c1', pid]]);
    expect(result.input).toMatchObject({ agentId: 'A-S0', frameworks: [{ id: 'f1' }], runs: [{ executorId: 't1', container: { kind: 'running', pid } }] });
    expect(result.input!.runs[0]!.tasks[0]!.pending.map((s) => s.uuid)).toEqual(['u1']);
  });

  it('after a reboot recovers no container: the task is gone and its leftover killed', async () => {
    const pid = await previousAgent();
    writeFileSync(metaPaths.bootId(workDir), 'another-boot\n');
    const result = await recover();
    expect(result.adopted).toEqual([]);
    expect(result.input!.runs[0]!.container).toEqual({ kind: 'gone' });
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
  });

  it('refuses an unreadable checkpoint with what to do, or with --strict=false skips what it cannot read', async () => {
    await previousAgent();
    const updates = metaPaths.taskUpdates(metaPaths.run(workDir, 'A-S0', 'f1', 't1', 'c1'), 't1');
    writeFileSync(updates, 'garbage\n');
    await expect(recover()).rejects.toThrow(/task\.updates: line 1 is not JSON\. Start the agent with --strict=false .* or remove .*meta\/slaves\/latest/);
    const lenient = await recover({ strict: false });
    expect(lenient.input?.runs).toEqual([]);
    expect(lenient.adopted).toEqual([]);
  });

  it('refuses a restart the reconfiguration policy does not allow, naming the change', async () => {
    await previousAgent();
    const smaller: AgentInfo = { ...agentInfo, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }] };
    await expect(recover({ current: smaller })).rejects.toThrow(/--resources changed from "cpus:2" to "cpus:1"/);
  });
});
