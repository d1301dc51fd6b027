import { z } from 'zod';
import { isUuid } from '../../shared/id.ts';

export const Uuid = z.string().refine(isUuid, 'must be a UUID');

export const PathId = z.object({ id: Uuid }).strict();

/** `limit` 1-100 (default 20) and an opaque `cursor` from a previous page's `nextCursor`. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: Uuid.optional(),
};
