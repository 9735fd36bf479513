/**
 * Running one CNI plugin, as the CNI spec's execution protocol says: parameters in CNI_*
 * variables, the network configuration on stdin, a result or an error object on stdout.
 */
import { spawn } from 'node:child_process';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface PluginCall {
  /** The executable (found in the plugin directories). */
  path: string;
  /** The plugin's type, for messages. */
  type: string;
  command: CniCommand;
  containerId: string;
  /** The network namespace path; may be gone for DEL. */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs ("K=V;K2=V2"); omitted when empty. */
  args?: ReadonlyArray<readonly [string, string]>;
  /** CNI_PATH: where the plugin finds the plugins it delegates to (IPAM). */
  pluginDirs: readonly string[];
  /** The configuration JSON written to stdin. */
  config: Record<string, unknown>;
  /** The environment the plugin inherits besides CNI_* (it needs PATH for iptables). */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** A plugin that failed: its CNI error code and message when it printed an error object. */
export class CniPluginError extends Error {
  override readonly name = 'CniPluginError';

  constructor(
    message: string,
    readonly plugin: string,
    readonly command: CniCommand,
    /** The CNI error code (1-99 well-known, 100+ the plugin's own), when the plugin gave one. */
    readonly code?: number,
  ) {
    super(message);
  }
}

// The spec's well-known error codes, for messages.
const ERROR_NAMES: Record<number, string> = {
  1: 'incompatible CNI version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid necessary environment variables',
  5: 'I/O failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  11: 'try again later',
};

/**
 * Runs the plugin and returns its parsed stdout (undefined when it printed nothing, which
 * DEL and CHECK do). Throws CniPluginError with the plugin's own message on failure.
 */
export function runPlugin(call: PluginCall): Promise<unknown> {
  const env: NodeJS.ProcessEnv = {
    ...call.env,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifName,
    CNI_PATH: call.pluginDirs.join(':'),
  };
  if (call.args !== undefined && call.args.length > 0) env['CNI_ARGS'] = call.args.map(([k, v]) => `${k}=${v}`).join(';');
  else delete env['CNI_ARGS'];
  const what = `CNI plugin '${call.type}' (${call.command})`;
  return new Promise((resolve, reject) => {
    // Its own process group, so a plugin that hangs is killed with whatever it started.
    const child = spawn(call.path, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
      reject(new CniPluginError(`${what} did not finish within ${call.timeoutMs} ms and was killed`, call.type, call.command));
    }, call.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new CniPluginError(`${what} could not be started: ${err.message}`, call.type, call.command));
    });
    // A plugin that exits without reading all of stdin is not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(call.config));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return;
      if (code !== 0) return reject(pluginError(what, call, code, signal, stdout, stderr));
      if (stdout.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new CniPluginError(`${what} printed output that is not JSON: ${clip(stdout)}`, call.type, call.command));
      }
    });
  });
}

function pluginError(
  what: string,
  call: PluginCall,
  code: number | null,
  signal: NodeJS.Signals | null,
  stdout: string,
  stderr: string,
): CniPluginError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && ('msg' in parsed || 'code' in parsed)) {
    const error = parsed as { code?: unknown; msg?: unknown; details?: unknown };
    const cniCode = typeof error.code === 'number' ? error.code : undefined;
    const msg = typeof error.msg === 'string' && error.msg !== '' ? error.msg : (ERROR_NAMES[cniCode ?? -1] ?? 'no message');
    const details = typeof error.details === 'string' && error.details !== '' ? `: ${error.details}` : '';
    const codeText = cniCode === undefined ? '' : ` (CNI error code ${cniCode}${ERROR_NAMES[cniCode] === undefined ? '' : `, ${ERROR_NAMES[cniCode]}`})`;
    return new CniPluginError(`${what} failed: ${msg}${details}${codeText}`, call.type, call.command, cniCode);
  }
  const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
  const output = (stderr.trim() || stdout.trim()) === '' ? '' : `: ${clip(stderr.trim() || stdout.trim())}`;
  return new CniPluginError(`${what} ${how}${output}`, call.type, call.command);
}

function clip(text: string): string {
  const oneLine = text.trim().replace(/\s*\n\s*/g, ' ');
  return oneLine.length > 500 ? `${oneLine.slice(0, 500)}...` : oneLine;
}
