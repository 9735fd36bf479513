/**
 * The agent Operator API's files and debug-container messages (facts 3.3, 8.5): LIST_FILES,
 * READ_FILE, LAUNCH_NESTED_CONTAINER_SESSION, ATTACH_CONTAINER_INPUT/OUTPUT, WAIT/KILL of a
 * (nested) container, and ProcessIO, the record type of their RecordIO streams.
 */
import { z } from 'zod';
import { bytes, int } from './decode.js';
import { CommandInfo, ContainerID, DurationInfo } from './common.js';

/** The media type of streams of records (facts 0): `Content-Type`/`Accept` of streaming calls. */
export const RECORDIO_TYPE = 'application/recordio';

/** `TTYInfo`: the container gets a pseudo-terminal of this size (rows x columns). */
export const WindowSize = z.object({ rows: int, columns: int });
export type WindowSize = z.infer<typeof WindowSize>;
export const TTYInfo = z.object({ window_size: WindowSize.optional() });
export type TTYInfo = z.infer<typeof TTYInfo>;

/**
 * `ProcessIO`: one record of a session's output (DATA STDOUT/STDERR, CONTROL HEARTBEAT) or of an
 * input stream (DATA STDIN, CONTROL TTY_INFO/HEARTBEAT). `data.data` is base64; empty STDIN data
 * is the end of input.
 */
export const ProcessIO = z.object({
  type: z.enum(['UNKNOWN', 'DATA', 'CONTROL']),
  data: z.object({ type: z.enum(['UNKNOWN', 'STDIN', 'STDOUT', 'STDERR']), data: bytes.optional() }).optional(),
  control: z
    .object({
      type: z.enum(['UNKNOWN', 'TTY_INFO', 'HEARTBEAT']),
      tty_info: TTYInfo.optional(),
      heartbeat: z.object({ interval: DurationInfo.optional() }).optional(),
    })
    .optional(),
});
export type ProcessIO = z.infer<typeof ProcessIO>;

/** `ContainerInfo` as a debug session reads it: only the TTY matters (the rest is the parent's). */
export const SessionContainerInfo = z.object({ type: z.enum(['DOCKER', 'MESOS']).optional(), tty_info: TTYInfo.optional() });

export const LaunchNestedContainerSession = z.object({
  container_id: ContainerID,
  command: CommandInfo.optional(),
  container: SessionContainerInfo.optional(),
});
export type LaunchNestedContainerSession = z.infer<typeof LaunchNestedContainerSession>;

export const AttachContainerInput = z.object({
  type: z.enum(['UNKNOWN', 'CONTAINER_ID', 'PROCESS_IO']),
  container_id: ContainerID.optional(),
  process_io: ProcessIO.optional(),
});
export type AttachContainerInput = z.infer<typeof AttachContainerInput>;

export const ContainerIdCall = z.object({ container_id: ContainerID });

/** `KillNestedContainer` / `KillContainer`: SIGKILL unless `signal` (a number) says otherwise. */
export const KillNestedContainer = z.object({ container_id: ContainerID, signal: int.optional() });

export const ListFiles = z.object({ path: z.string() });
export const ReadFile = z.object({ path: z.string(), offset: int, length: int.optional() });

/** The members of `agent.Call` these calls use, merged into AgentOperatorCall. */
export const AGENT_IO_CALL_FIELDS = {
  list_files: ListFiles.optional(),
  read_file: ReadFile.optional(),
  launch_nested_container_session: LaunchNestedContainerSession.optional(),
  attach_container_input: AttachContainerInput.optional(),
  attach_container_output: ContainerIdCall.optional(),
  wait_nested_container: ContainerIdCall.optional(),
  kill_nested_container: KillNestedContainer.optional(),
  // The modern names of the last two (Mesos 1.5+), which answer for debug sessions as well.
  wait_container: ContainerIdCall.optional(),
  kill_container: KillNestedContainer.optional(),
};
