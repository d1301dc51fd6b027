import { z } from 'zod';
import { isUuid } from '../../shared/id.ts';

/** A UUID, in lower case whatever case it came in: ids are compared as strings everywhere inside. */
export const Uuid = z
  .string()
  .refine(isUuid, 'must be a UUID')
  .transform((id) => id.toLowerCase());

export const PathId = z.object({ id: Uuid }).strict();

/** Routes that take no query parameter refuse any (a typo such as ?mdoe=async must not pass unnoticed). */
export const NoQuery = z.object({}).strict();

/** `limit` 1-100 (default 20) and an opaque `cursor` from a previous page's `nextCursor`. */
export const PageQuery = {
  // Decimal digits only: Number() would also read 0x3, 1e1, " 3" and "+3".
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 100')
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .default(20),
  cursor: Uuid.optional(),
};
