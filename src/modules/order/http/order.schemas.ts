import { z } from 'zod';
import { PageQuery, Uuid } from '../../../edge/http/common-schemas.ts';
import { MAX_ITEMS, MAX_QUANTITY, ORDER_STATUSES } from '../domain/order.ts';

export const PlaceOrderBody = z
  .object({
    items: z
      .array(z.object({ productId: Uuid, quantity: z.number().int().min(1).max(MAX_QUANTITY) }).strict())
      .min(1)
      .max(MAX_ITEMS)
      .refine(
        (items) => new Set(items.map((i) => i.productId)).size === items.length,
        'each product may appear only once',
      ),
  })
  .strict();

export const ListOrdersQuery = z.object({ ...PageQuery, status: z.enum(ORDER_STATUSES).optional() }).strict();

export const ModeQuery = z.object({ mode: z.enum(['sync', 'async']).optional() }).strict();

/** Printable ASCII, as the IETF draft for the Idempotency-Key header suggests; 255 characters at most. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters')
  .optional();
