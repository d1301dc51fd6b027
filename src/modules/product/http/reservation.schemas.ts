import { z } from 'zod';
import { Uuid } from '../../../edge/http/common-schemas.ts';
import { MAX_STOCK } from '../domain/product.ts';

/**
 * The internal reservation API's input. Limits are the product module's own (it trusts no caller): at most
 * 1000 lines, quantities no larger than any stock can be.
 */
export const ReserveBody = z
  .object({
    orderId: Uuid,
    items: z
      .array(z.object({ productId: Uuid, quantity: z.number().int().min(1).max(MAX_STOCK) }).strict())
      .min(1)
      .max(1000),
  })
  .strict();

export const OrderIdPath = z.object({ orderId: Uuid }).strict();
