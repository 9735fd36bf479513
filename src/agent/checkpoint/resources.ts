/**
 * The agent's checkpointed resources (facts 7.2): `<work_dir>/meta/resources/resources.info`,
 * the resources the master last told the agent it has, dynamic reservations included. Written
 * atomically on every CHECKPOINT_RESOURCES; read at start, so reservations survive a restart.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../../io/atomic-file.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Resource } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import type { Resources } from '../../resources/index.js';
import { checkpointedTotal } from '../core/index.js';

export const RESOURCES_CHECKPOINT = join('meta', 'resources', 'resources.info');

/** Writes in the order they were asked for, per file. */
const writes = new Map<string, Promise<void>>();

/**
 * The agent's resources at start: `declared` (its --resources) with the dynamic reservations of
 * the checkpoint, if there is one. A checkpoint that does not match the declared resources stops
 * the agent, as Mesos's recovery does, with what to do about it.
 */
export async function loadCheckpointedResources(workDir: string, declared: Resources, log: Logger): Promise<Resources> {
  const path = join(workDir, RESOURCES_CHECKPOINT);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return declared;
    throw new AgoraError('AGORA_ERR_VALIDATION', `cannot read the checkpointed resources ${path}: ${(err as Error).message}`);
  }
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch (err) {
    throw incompatible(path, `it is not JSON (${(err as Error).message})`);
  }
  const total = Array.isArray(wire) ? checkpointedTotal(declared, wire as Resource[]) : { error: 'it is not a JSON array of Resource' };
  if ('error' in total) throw incompatible(path, total.error);
  if (!total.equals(declared)) log.info({ resources: total.toString() }, 'recovered checkpointed resources (dynamic reservations)');
  return total;
}

/**
 * Takes the master's view of the agent's resources: returns the new total at once (it is what
 * the agent reports from now on) and checkpoints it in the background, in order. A view that
 * does not match the agent's declared resources is logged and ignored.
 */
export function checkpointResources(workDir: string, current: Resources, wire: readonly Resource[], log: Logger): Resources {
  const total = checkpointedTotal(current, wire);
  if ('error' in total) {
    log.error({ error: total.error }, 'ignoring the resources the master sent to checkpoint');
    return current;
  }
  const path = join(workDir, RESOURCES_CHECKPOINT);
  const write = (writes.get(path) ?? Promise.resolve()).then(() => writeFileAtomically(path, `${JSON.stringify(total.toWire())}\n`));
  writes.set(path, write.catch((err: Error) => log.error({ error: err.message, path }, 'cannot checkpoint the resources')));
  log.info({ resources: total.toString() }, 'checkpointing resources');
  return total;
}

/** Resolves once every checkpoint asked for so far is written (for stop and tests). */
export async function checkpointsWritten(workDir: string): Promise<void> {
  await writes.get(join(workDir, RESOURCES_CHECKPOINT));
}

function incompatible(path: string, why: string): AgoraError {
  return new AgoraError(
    'AGORA_ERR_VALIDATION',
    `the checkpointed resources ${path} cannot be used: ${why}; start the agent with the --resources it had, or remove that file to drop its dynamic reservations`,
  );
}

