/**
 * What the agent offers: the `--resources` and `--attributes` flags, with every well-known
 * resource the flag leaves out detected from this machine as Mesos does (facts 6.1).
 */
import { readFile, statfs } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Attribute } from '../api/index.js';
import { AgoraError } from '../base/index.js';
import { parseAttributes, Resources } from '../resources/index.js';

const MB = 1024 * 1024;
const DEFAULT_PORTS = '[31000-32000]';

/** The machine as autodetection sees it; a parameter so tests can pin it. */
export interface MachineFacts {
  cpus: number;
  memBytes: number;
  workDirFsBytes: number;
}

export async function machineFacts(workDir: string): Promise<MachineFacts> {
  const fs = await statfs(workDir);
  return { cpus: cpus().length, memBytes: totalmem(), workDirFsBytes: fs.blocks * fs.bsize };
}

/**
 * Parses `--resources` (text, JSON, or file:///path holding either) and adds what it does not
 * name among cpus, mem, disk and ports: cpus = cores; mem = total - 1 GB (half below 2 GB);
 * disk = the work_dir filesystem - 5 GB (half below 10 GB); ports = [31000-32000].
 * Throws AGORA_ERR_VALIDATION naming the flag and the fix.
 */
export async function agentResources(flag: string | undefined, facts: MachineFacts): Promise<Resources> {
  let given = Resources.empty();
  if (flag !== undefined && flag.trim() !== '') {
    const text = await flagText('--resources', flag);
    const parsed = Resources.parse(text);
    if ('error' in parsed) {
      throw new AgoraError(
        'AGORA_ERR_VALIDATION',
        `--resources: ${parsed.error} (expected e.g. "cpus:4;mem:8192;disk:20000;ports:[31000-32000]" or a JSON array of Resource)`,
      );
    }
    given = parsed;
  }
  const names = new Set(given.names());
  const memMb = Math.floor(facts.memBytes / MB);
  const diskMb = Math.floor(facts.workDirFsBytes / MB);
  const detected: Record<string, string> = {
    cpus: String(facts.cpus),
    mem: String(memMb >= 2048 ? memMb - 1024 : Math.floor(memMb / 2)),
    disk: String(diskMb >= 10240 ? diskMb - 5120 : Math.floor(diskMb / 2)),
    ports: DEFAULT_PORTS,
  };
  const missing = Object.entries(detected)
    .filter(([name]) => !names.has(name))
    .map(([name, value]) => `${name}:${value}`)
    .join(';');
  if (missing === '') return given;
  const defaults = Resources.parse(missing);
  if ('error' in defaults) throw new AgoraError('AGORA_ERR_INTERNAL', `autodetected resources "${missing}" do not parse: ${defaults.error}`);
  return given.add(defaults);
}

/** Parses `--attributes` ("rack:r1;zone:a"); throws AGORA_ERR_VALIDATION naming the flag. */
export async function agentAttributes(flag: string | undefined): Promise<Attribute[]> {
  if (flag === undefined || flag.trim() === '') return [];
  const parsed = parseAttributes(await flagText('--attributes', flag));
  if ('error' in parsed) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `--attributes: ${parsed.error} (expected e.g. "rack:r1;zone:west;level:10")`);
  }
  return parsed;
}

/** A flag's value, read from the file when it is given as file:///path (as Mesos allows). */
async function flagText(name: string, value: string): Promise<string> {
  if (!value.startsWith('file://')) return value;
  try {
    return await readFile(fileURLToPath(value), 'utf8');
  } catch (err) {
    throw new AgoraError('AGORA_ERR_VALIDATION', `${name}: cannot read ${value}: ${(err as Error).message}`);
  }
}
