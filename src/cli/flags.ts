/**
 * Flags as Mesos spells them: `--work_dir` and `--work-dir` both work, `--flag=value` too, and
 * the daemons read `AGORA_<FLAG>` / `MESOS_<FLAG>` from the environment. Value parsers throw
 * commander's InvalidArgumentError with a message that names the value and the fix.
 */
import { readFileSync } from 'node:fs';
import { Command, Help, InvalidArgumentError, Option } from 'commander';
import { AgoraError, parseDurationMs } from '../base/index.js';
import { isEtcdUrl, parseEtcdUrl } from '../etcd/index.js';

/**
 * Rewrites argv (without node and script) so commander sees one spelling: Mesos's underscores
 * become dashes (`--work_dir=x` -> `--work-dir=x`), and `--no-flag` of
 * boolean flags (named in `booleans`, dashed) become `--flag=false`, as Mesos's parser reads it.
 */
export function normalizeArgv(args: readonly string[], booleans: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  let passThrough = false;
  for (const arg of args) {
    if (passThrough || !arg.startsWith('--') || arg === '--') {
      if (arg === '--') passThrough = true;
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).replace(/_/g, '-');
    if (eq === -1 && name.startsWith('no-') && booleans.has(name.slice(3))) {
      out.push(`--${name.slice(3)}=false`);
      continue;
    }
    out.push(eq === -1 ? `--${name}` : `--${name}${arg.slice(eq)}`);
  }
  return out;
}

/** `--work-dir` -> `--work_dir`: the spelling Mesos documents, shown in help. */
export function mesosSpelling(longFlag: string): string {
  return `--${longFlag.slice(2).replace(/-/g, '_')}`;
}

/** Help that shows each flag as Mesos spells it. */
export function mesosHelp(): Partial<Help> {
  return {
    optionTerm(option: Option): string {
      if (option.long === undefined || option.long === '--help' || option.long === '--version') return option.flags;
      return option.flags.replace(option.long, mesosSpelling(option.long));
    },
  };
}

export const FLAG_SPELLING_NOTE =
  'Flags may be written as in Mesos (--work_dir) or with dashes (--work-dir), as "--flag value" or "--flag=value".';

export const ENV_NOTE =
  'Unset flags are read from the environment as AGORA_<FLAG> or MESOS_<FLAG> (e.g. MESOS_WORK_DIR).';

/**
 * Fills flags not given on the command line from `AGORA_<FLAG>` then `MESOS_<FLAG>`, as Mesos's
 * daemons do. Values go through the option's own parser, so they are checked the same way.
 */
export function applyEnvFlags(command: Command, env: NodeJS.ProcessEnv = process.env): void {
  for (const option of command.options) {
    if (option.long === undefined || option.long === '--help') continue;
    const key = option.attributeName();
    const source = command.getOptionValueSource(key);
    if (source !== undefined && source !== 'default') continue;
    const envName = option.long.slice(2).replace(/-/g, '_').toUpperCase();
    for (const prefix of ['AGORA_', 'MESOS_']) {
      const raw = env[prefix + envName];
      if (raw === undefined) continue;
      let value: unknown = raw;
      if (option.parseArg !== undefined) {
        try {
          value = option.parseArg(raw, undefined);
        } catch (err) {
          // Not a commander error: commander has not printed it, so main must.
          throw new AgoraError('AGORA_ERR_VALIDATION', `${prefix}${envName}: ${(err as Error).message}`);
        }
      }
      command.setOptionValueWithSource(key, value, 'env');
      break;
    }
  }
}

// ----- value parsers ---------------------------------------------------------------------

export function parsePort(flag: string): (text: string) => number {
  return (text) => {
    const port = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InvalidArgumentError(`${flag}: "${text}" is not a port; give a number from 0 to 65535 (0 = any free port)`);
    }
    return port;
  };
}

export function parseCount(flag: string, min = 1): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n < min) {
      throw new InvalidArgumentError(`${flag}: "${text}" is not a whole number >= ${min}`);
    }
    return n;
  };
}

export function parseDuration(flag: string): (text: string) => number {
  return (text) => {
    const ms = parseDurationMs(text);
    if (typeof ms !== 'number') throw new InvalidArgumentError(`${flag}: ${ms.error}`);
    return ms;
  };
}

/** Mesos booleans: `--flag`, `--flag=true|false`, also 1/0 and yes/no. */
export function parseBool(flag: string): (text: string) => boolean {
  return (text) => {
    const t = text.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(t)) return true;
    if (['false', '0', 'no'].includes(t)) return false;
    throw new InvalidArgumentError(`${flag}: "${text}" is not a boolean; write true or false`);
  };
}

export function parseHostPort(flag: string): (text: string) => string {
  return (text) => {
    const hostPort = text.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    const match = /^([^:/\s]+):(\d{1,5})$/.exec(hostPort);
    if (match === null || Number(match[2]) > 65535 || Number(match[2]) === 0) {
      throw new InvalidArgumentError(`${flag}: "${text}" is not HOST:PORT; write e.g. 127.0.0.1:5050`);
    }
    return hostPort;
  };
}

/**
 * `--master`: HOST:PORT of a master (a standby there redirects to the leader), or
 * etcd://HOST:PORT[,HOST:PORT...][/prefix] to find the leading master in etcd.
 */
export function parseMasterFlag(flag: string): (text: string) => string {
  const hostPort = parseHostPort(flag);
  return (text) => {
    if (!isEtcdUrl(text)) return hostPort(text);
    const location = parseEtcdUrl(text);
    if ('error' in location) throw new InvalidArgumentError(`${flag}: ${location.error}`);
    return text.trim();
  };
}

export function parseNonEmpty(flag: string): (text: string) => string {
  return (text) => {
    if (text.trim() === '') throw new InvalidArgumentError(`${flag}: must not be empty`);
    return text;
  };
}

/**
 * Reads a JSON flag given inline, as `file://path`, or as a path to a file (Mesos accepts all
 * three for JSON-typed flags). Returns the parsed value.
 */
export function readJsonFlag(flag: string, text: string): unknown {
  let source = text.trim();
  let origin = 'value';
  if (!source.startsWith('{') && !source.startsWith('[')) {
    const path = source.startsWith('file://') ? source.slice('file://'.length) : source;
    try {
      source = readFileSync(path, 'utf8');
      origin = `file ${path}`;
    } catch (err) {
      throw new InvalidArgumentError(
        `${flag}: "${text}" is neither JSON nor a readable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  try {
    return JSON.parse(source) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: the ${origin} is not valid JSON: ${(err as Error).message}`);
  }
}
