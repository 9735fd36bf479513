/**
 * Wire messages shared by every Mesos v1 API: ids, values, labels, environment, commands.
 * Field names and enum values exactly as Mesos's JSON. Schemas decode what arrives; the
 * inferred types are the one definition of each message.
 */
import { z } from 'zod';
import { bytes, double, int } from './decode.js';

// Task, executor and framework ids are used in paths, so Mesos restricts them (facts section 0).
const ID_MAX = 255;
const ID_FORBIDDEN = /[\u0000-\u001f\u007f/\\]/;

export const pathSafeIdValue = z
  .string()
  .min(1, 'must not be empty')
  .max(ID_MAX, `must be at most ${ID_MAX} characters`)
  .refine((v) => v !== '.' && v !== '..', 'must not be "." or ".."')
  .refine((v) => !ID_FORBIDDEN.test(v), 'must not contain "/", "\\" or control characters');

export const Id = z.object({ value: z.string() });
export type Id = z.infer<typeof Id>;
export const PathSafeId = z.object({ value: pathSafeIdValue });

export type FrameworkID = Id;
export type AgentID = Id;
export type TaskID = Id;
export type ExecutorID = Id;
export type OfferID = Id;

export type ContainerID = { value: string; parent?: ContainerID };
export const ContainerID: z.ZodType<ContainerID> = z.lazy(() =>
  z.object({ value: z.string(), parent: ContainerID.optional() }),
);

export const Label = z.object({ key: z.string(), value: z.string().optional() });
export const Labels = z.object({ labels: z.array(Label).optional() });
export type Labels = z.infer<typeof Labels>;

export const Scalar = z.object({ value: double });
export const Range = z.object({ begin: int, end: int });
export const Ranges = z.object({ range: z.array(Range).optional() });
export const ValueSet = z.object({ item: z.array(z.string()).optional() });
export const Text = z.object({ value: z.string() });
export const ValueType = z.enum(['SCALAR', 'RANGES', 'SET', 'TEXT']);
export type ValueType = z.infer<typeof ValueType>;
export type Scalar = z.infer<typeof Scalar>;
export type Range = z.infer<typeof Range>;
export type Ranges = z.infer<typeof Ranges>;
export type ValueSet = z.infer<typeof ValueSet>;

export const Attribute = z.object({
  name: z.string(),
  type: ValueType,
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  text: Text.optional(),
});
export type Attribute = z.infer<typeof Attribute>;

export const DurationInfo = z.object({ nanoseconds: int });
export type DurationInfo = z.infer<typeof DurationInfo>;
export const TimeInfo = z.object({ nanoseconds: int });
export type TimeInfo = z.infer<typeof TimeInfo>;

export const EnvironmentVariable = z.object({
  name: z.string(),
  type: z.enum(['UNKNOWN', 'VALUE', 'SECRET']).optional(),
  value: z.string().optional(),
  secret: z.unknown().optional(),
});
export const Environment = z.object({ variables: z.array(EnvironmentVariable).optional() });
export type Environment = z.infer<typeof Environment>;

export const CommandURI = z.object({
  value: z.string(),
  executable: z.boolean().optional(),
  extract: z.boolean().optional(),
  cache: z.boolean().optional(),
  output_file: z.string().optional(),
});

export const CommandInfo = z.object({
  uris: z.array(CommandURI).optional(),
  environment: Environment.optional(),
  shell: z.boolean().optional(),
  value: z.string().optional(),
  arguments: z.array(z.string()).optional(),
  user: z.string().optional(),
});
export type CommandInfo = z.infer<typeof CommandInfo>;

export const Address = z.object({ hostname: z.string().optional(), ip: z.string().optional(), port: int });
export const URL = z.object({
  scheme: z.string(),
  address: Address,
  path: z.string().optional(),
  query: z.array(z.object({ key: z.string(), value: z.string().optional() })).optional(),
  fragment: z.string().optional(),
});
export type URL = z.infer<typeof URL>;

export const Filters = z.object({ refuse_seconds: double.optional() });
export type Filters = z.infer<typeof Filters>;

export { bytes };
