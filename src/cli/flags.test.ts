import { Command, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { applyEnvFlags, normalizeArgv, parseDuration, parseHostPort, parseMasterFlag, parsePort } from './flags.js';
import { formatResources, parseResourceSpec, shortfall } from './resources-spec.js';
import { exitCodeFromMessage } from './scheduler-client.js';

describe('normalizeArgv', () => {
  it.each([
    [['--work_dir', '/x'], ['--work-dir', '/x']],
    [['--work_dir=/x'], ['--work-dir=/x']],
    [['--allocation_interval=2secs'], ['--allocation-interval=2secs']],
    [['--work-dir', '/a_b'], ['--work-dir', '/a_b']],
    [['--no-shell'], ['--shell=false']],
    [['--no_partition_aware'], ['--partition-aware=false']],
    [['--no-such'], ['--no-such']],
    [['--', '--work_dir'], ['--', '--work_dir']],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeArgv(input, new Set(['shell', 'partition-aware']))).toEqual(expected);
  });
});

describe('flag values', () => {
  it('reads ports and refuses what is not one, naming the flag', () => {
    expect(parsePort('--port')('0')).toBe(0);
    expect(parsePort('--port')('5050')).toBe(5050);
    expect(() => parsePort('--port')('50a')).toThrow(/--port: "50a" is not a port/);
    expect(() => parsePort('--port')('70000')).toThrow(InvalidArgumentError);
  });

  it('reads Mesos durations', () => {
    expect(parseDuration('--allocation_interval')('1secs')).toBe(1000);
    expect(parseDuration('--allocation_interval')('250ms')).toBe(250);
    expect(() => parseDuration('--allocation_interval')('5parsecs')).toThrow(/--allocation_interval: .*unknown unit/);
  });

  it('reads HOST:PORT with or without a scheme', () => {
    expect(parseHostPort('--master')('127.0.0.1:5050')).toBe('127.0.0.1:5050');
    expect(parseHostPort('--master')('http://localhost:5050/')).toBe('localhost:5050');
    expect(() => parseHostPort('--master')('localhost')).toThrow(/--master: "localhost" is not HOST:PORT/);
  });

  it('reads --master as HOST:PORT or as etcd://HOST:PORT[,HOST:PORT...] to follow the leader', () => {
    const master = parseMasterFlag('--master');
    expect(master('http://127.0.0.1:5050')).toBe('127.0.0.1:5050');
    expect(master(' etcd://10.0.0.1:2379,10.0.0.2:2379/prod ')).toBe('etcd://10.0.0.1:2379,10.0.0.2:2379/prod');
    expect(() => master('etcd://10.0.0.1')).toThrow(/--master: "10.0.0.1" in "etcd:\/\/10.0.0.1" is not HOST:PORT/);
    expect(() => master('zk://z:2181/mesos')).toThrow(/is not HOST:PORT/);
  });

    it('fills unset flags from AGORA_ then MESOS_ variables, through the flag parser', () => {
    const parsed = () => {
      const command = new Command('x')
        .option('--work-dir <dir>', '', '/default')
        .option('--port <port>', '', parsePort('--port'), 5050)
        .option('--ip <ip>', '', '127.0.0.1');
      return command.parse(['--ip', '10.0.0.1'], { from: 'user' });
    };
    const command = parsed();
    applyEnvFlags(command, { MESOS_WORK_DIR: '/mesos', AGORA_WORK_DIR: '/agora', MESOS_PORT: '6060', MESOS_IP: '1.2.3.4' });
    expect(command.opts()).toEqual({ workDir: '/agora', port: 6060, ip: '10.0.0.1' });
    expect(() => applyEnvFlags(parsed(), { MESOS_PORT: 'x' })).toThrow(/MESOS_PORT: --port: "x" is not a port/);
  });
});

describe('resource specs', () => {
  it('parses the --resources syntax', () => {
    expect(parseResourceSpec('cpus:0.1;mem:32;ports:[31000-31001,31005-31005];zones:{a,b}')).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31001 }, { begin: 31005, end: 31005 }] } },
      { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
    ]);
  });

  it.each([
    ['cpu:2', /did you mean "cpus"/],
    ['cpus', /cpus/],
    ['cpus:-1', /negative/],
    ['ports:[5-1]', /5-1/],
    ['cpus(web):1', /reserved resources/],
  ])('refuses %s with a reason', (text, reason) => {
    const parsed = parseResourceSpec(text);
    expect('error' in parsed && parsed.error).toMatch(reason);
  });

  it('tells what an offer lacks, summing entries of the same name', () => {
    const offered = parseResourceSpec('cpus:0.5;cpus:0.5;mem:100;ports:[31000-31002];ports:[31003-31010]');
    if ('error' in offered) throw new Error(offered.error);
    const fits = parseResourceSpec('cpus:1;mem:100;ports:[31001-31004]');
    const tooBig = parseResourceSpec('cpus:1.001;mem:128;ports:[31009-31011]');
    if ('error' in fits || 'error' in tooBig) throw new Error('bad spec');
    expect(shortfall(fits, offered)).toEqual([]);
    expect(shortfall(tooBig, offered)).toEqual([
      'cpus: asked 1.001, offered 1',
      'mem: asked 128, offered 100',
      'ports: [31009-31011] not in [31000-31010]',
    ]);
    expect(formatResources(offered)).toBe('cpus:1;mem:100;ports:[31000-31010]');
  });
});

describe('exit status from a status message', () => {
  it.each([
    ['Command exited with status 3', 3],
    ['Command exited with status 0', 0],
    ['Command terminated with signal Killed', 137],
    ['Command terminated with signal SIGTERM', 143],
    ['Command terminated by signal 15', 143],
    ['Task killed', undefined],
    [undefined, undefined],
  ])('%s -> %s', (message, code) => {
    expect(exitCodeFromMessage(message)).toBe(code);
  });
});
