import { z } from 'zod';
import { PageQuery } from '../../../edge/http/common-schemas.ts';
import { MAX_GRACE_SECONDS, MAX_NAME_LENGTH, MAX_RATE_LIMIT_PER_MINUTE } from '../domain/api-key.ts';

// Strict objects built from the domain's limits: unknown fields (id, hash, revokedAt, lastUsedAt, …) are a 400.
export const CreateApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(MAX_NAME_LENGTH),
    role: z.enum(['admin', 'customer']),
    expiresAt: z.iso
      .datetime({ offset: true })
      .transform((s) => new Date(s))
      .optional(),
    rateLimitPerMinute: z.number().int().min(1).max(MAX_RATE_LIMIT_PER_MINUTE).optional(),
  })
  .strict();

export const RollApiKeyBody = z.object({ gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS) }).strict();

/** Revoking takes no fields; an empty object (or no body) is accepted. */
export const RevokeApiKeyBody = z.object({}).strict().optional();

export const ListApiKeysQuery = z.object(PageQuery).strict();
