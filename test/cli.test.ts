/**
 * The `agora` command as a user meets it: help on every command with Mesos's flag spellings,
 * one clear line (no stack trace) and exit 1 for a bad flag, and a clean stop on SIGTERM/SIGINT.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { CLI, getJson, runCli, spawnCli, tempDir, waitForNoProcessesUnder } from './support/cluster.js';

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe.concurrent('agora --help', () => {
  it.each([
    ['master', ['--work_dir', '--allocation_interval', '--port', '--ip', '--hostname']],
    ['agent', ['--master', '--work_dir', '--resources', '--attributes', '--hostname']],
    ['local', ['--agents', '--port', '--work_dir', '--resources']],
    ['execute', ['--master', '--name', '--command', '--resources', '--kill_after', '--framework_capabilities', '--task']],
  ])('agora %s --help shows its flags as Mesos spells them', async (command, flags) => {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    for (const flag of flags) expect(r.stdout).toContain(flag);
    expect(r.stdout).toMatch(/--work-dir|dashes/);
  });

  it('agora --help lists the commands', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['master', 'agent', 'local', 'execute']) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('the built entry point is executable with node via its shebang', () => {
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe.concurrent('bad flags', () => {
  it.each([
    [['master', '--port', 'abc'], /^agora master: .*--port: "abc" is not a port/m],
    [['master', '--allocation_interval', '5parsecs'], /^agora master: .*--allocation_interval: .*unknown unit "parsecs"/m],
    [['local', '--agents', 'zero'], /^agora local: .*--agents: "zero" is not a whole number/m],
    [['agent', '--port', '5051'], /^agora agent: .*--master/m],
    [['execute', '--master', 'nohost', '--command', 'true'], /^agora execute: .*--master: "nohost" is not HOST:PORT/m],
    [['execute', '--master', '127.0.0.1:5050', '--resources', 'cpu:1'], /^agora execute: .*did you mean "cpus"/m],
    [['master', '--no-such-flag'], /^agora master: unknown option '--no-such-flag'/m],
  ])('agora %j fails with one clear line and exit 1', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    noStack(r.stderr);
  });

  it('reads MESOS_<FLAG> from the environment and checks it like the flag', async () => {
    const r = await runCli(['master'], { env: { MESOS_PORT: 'eighty' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^agora master: MESOS_PORT: --port: "eighty" is not a port/m);
    noStack(r.stderr);
  });

  it('reports a config the daemon refuses as one line naming the flag', async () => {
    const workDir = tempDir('cli-bad-resources');
    const r = await runCli(['local', '--port', '0', '--work_dir', workDir, '--resources', 'cpu:2']);
    rmSync(workDir, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^agora local: .*--resources/m);
    noStack(r.stderr);
  });
});

describe('stopping', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('agora local stops cleanly on %s and exits 0', async (signal) => {
    const workDir = tempDir('cli-stop');
    const child = spawnCli(['local', '--port', '0', '--work-dir', workDir, '--resources', 'cpus:1;mem:256']);
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const masterUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no master line in: ${stdout}`)), 20_000);
      child.stdout!.on('data', () => {
        const m = /^\s*master\s+(http:\/\/\S+)/m.exec(stdout);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    expect(stdout).toMatch(/^agora local is running$/m);
    expect(stdout).toMatch(/^\s*agent\s+http:\/\/127\.0\.0\.1:\d+/m);
    expect(stdout).toMatch(/^\s*logs\s+\S+/m);
    expect(stdout).toMatch(/agora execute --master 127\.0\.0\.1:\d+/);
    await getJson(`${masterUrl}/master/state`);
    child.kill(signal);
    expect(await exited).toBe(0);
    expect(await waitForNoProcessesUnder(workDir, 3000)).toEqual([]);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('agora master stops on SIGTERM and exits 0', async () => {
    const workDir = tempDir('cli-master');
    const child = spawnCli(['master', '--port', '0', '--work_dir', workDir]);
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no master line in: ${stdout}`)), 20_000);
      child.stdout!.on('data', () => {
        if (/^\s*master\s+http:\/\/\S+/m.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    rmSync(workDir, { recursive: true, force: true });
  });
});
