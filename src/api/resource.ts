/** The Resource wire message (facts section 6.2). Arithmetic lives in src/resources. */
import { z } from 'zod';
import { Labels, Ranges, Scalar, ValueSet, ValueType } from './common.js';

export const ReservationInfo = z.object({
  type: z.enum(['UNKNOWN', 'STATIC', 'DYNAMIC']).optional(),
  role: z.string().optional(),
  principal: z.string().optional(),
  labels: Labels.optional(),
});
export type ReservationInfo = z.infer<typeof ReservationInfo>;

export const Resource = z.object({
  provider_id: z.object({ value: z.string() }).optional(),
  name: z.string().min(1, 'must not be empty'),
  type: ValueType,
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  role: z.string().optional(),
  allocation_info: z.object({ role: z.string().optional() }).optional(),
  reservation: ReservationInfo.optional(),
  reservations: z.array(ReservationInfo).optional(),
  disk: z.unknown().optional(),
  revocable: z.object({}).optional(),
  shared: z.object({}).optional(),
});
export type Resource = z.infer<typeof Resource>;
