/**
 * A fake CNI plugin for tests: a small shell script (a test double of the CNI peer) that logs
 * each call's CNI_* variables and stdin, then prints a canned result or error.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeCall {
  plugin: string;
  command: string;
  env: Record<string, string>;
  config: Record<string, unknown>;
}

export interface FakePluginBehaviour {
  /** Printed on ADD (default: a result naming the plugin, with one address). */
  addResult?: unknown;
  /** Print nothing on ADD (a plugin that passes prevResult on by silence). */
  silentAdd?: boolean;
  /** Fail this command with the CNI error object (exit 1). */
  failOn?: { command: string; error: unknown };
  /** Fail with text on stderr and this status. */
  crashOn?: { command: string; stderr: string; status: number };
  /** Sleep this long before answering. */
  sleepSecs?: number;
}

/** The default ADD result of plugin `name`: one address whose last octet is `octet`. */
export function fakeResult(name: string, octet = 2): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    interfaces: [{ name: `br-${name}` }, { name: 'eth0', sandbox: '/fake/netns' }],
    ips: [{ address: `10.99.0.${octet}/24`, gateway: '10.99.0.1', interface: 1 }],
    dns: {},
    fakePlugin: name,
  };
}

/** Writes plugin `name` into `pluginDir`; its calls are logged under `logDir`. */
export function writeFakePlugin(pluginDir: string, logDir: string, name: string, behaviour: FakePluginBehaviour = {}): void {
  mkdirSync(pluginDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const result = JSON.stringify(behaviour.addResult ?? fakeResult(name));
  const lines = [
    '#!/bin/sh',
    `log=${shellQuote(logDir)}`,
    'mkdir -p "$log"',
    // Few forks: the file name's clock orders the calls.
    `f="$log/$(date +%s%N)-${name}-$CNI_COMMAND"`,
    'cat > "$f.json"',
    'env > "$f.env"',
  ];
  if (behaviour.sleepSecs !== undefined) lines.push(`sleep ${behaviour.sleepSecs}`);
  if (behaviour.failOn !== undefined) {
    lines.push(`if [ "$CNI_COMMAND" = ${behaviour.failOn.command} ]; then echo ${shellQuote(JSON.stringify(behaviour.failOn.error))}; exit 1; fi`);
  }
  if (behaviour.crashOn !== undefined) {
    lines.push(
      `if [ "$CNI_COMMAND" = ${behaviour.crashOn.command} ]; then echo ${shellQuote(behaviour.crashOn.stderr)} >&2; exit ${behaviour.crashOn.status}; fi`,
    );
  }
  if (behaviour.silentAdd !== true) lines.push(`if [ "$CNI_COMMAND" = ADD ]; then echo ${shellQuote(result)}; fi`);
  lines.push('exit 0', '');
  const path = join(pluginDir, name);
  writeFileSync(path, lines.join('\n'));
  chmodSync(path, 0o755);
}

/** Every call logged under `logDir`, oldest first. */
export function fakeCalls(logDir: string): FakeCall[] {
  return readdirSync(logDir)
    .filter((f) => f.endsWith('.env'))
    .sort()
    .map((f) => {
      const [, plugin, command] = /^\d+-(.+)-([A-Z]+)\.env$/.exec(f)!;
      const env = Object.fromEntries(
        readFileSync(join(logDir, f), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('CNI_'))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const config = JSON.parse(readFileSync(join(logDir, f.replace(/\.env$/, '.json')), 'utf8')) as Record<string, unknown>;
      return { plugin: plugin!, command: command!, env, config };
    });
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
