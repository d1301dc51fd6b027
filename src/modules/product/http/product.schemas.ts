import { z } from 'zod';
import { PageQuery } from '../../../edge/http/common-schemas.ts';
import { CURRENCY_PATTERN, CURRENCY_RULE, MAX_PRICE_CENTS } from '../domain/money.ts';
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH, MAX_STOCK } from '../domain/product.ts';
import { SKU_PATTERN, SKU_RULE } from '../domain/sku.ts';

// Built from the domain's own limits and patterns: the edge refuses early what the domain would refuse.
const name = z.string().trim().min(1).max(MAX_NAME_LENGTH);
const description = z.string().max(MAX_DESCRIPTION_LENGTH);
const priceCents = z.number().int().min(0).max(MAX_PRICE_CENTS);
const stock = z.number().int().min(0).max(MAX_STOCK);

export const CreateProductBody = z
  .object({
    sku: z.string().regex(SKU_PATTERN, SKU_RULE),
    name,
    description: description.default(''),
    priceCents,
    currency: z.string().regex(CURRENCY_PATTERN, CURRENCY_RULE),
    stock,
  })
  .strict();

export const UpdateProductBody = z
  .object({ name, description, priceCents, stock })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one of name, description, priceCents, stock');

export const ListProductsQuery = z.object({ ...PageQuery, q: z.string().trim().min(1).max(100).optional() }).strict();

/**
 * `X-Read-After`: the position a product write answered with (a MariaDB GTID list, `domain-server-seq[,…]`),
 * echoed by the client so its reads see that write. Anything else is refused (400), not ignored: a client
 * that sends one expects read-your-writes, and silently dropping it would serve it stale data.
 */
export const ReadAfterHeader = z
  .string()
  .max(1024)
  .regex(/^\d{1,10}-\d{1,10}-\d{1,20}(,\d{1,10}-\d{1,10}-\d{1,20}){0,31}$/, 'must be a GTID position such as 0-1-42')
  .optional();

/** `If-Match: "<version>"` (a weak tag or a bare number is accepted too). */
export const IfMatch = z
  .string()
  .regex(/^(W\/)?"?\d{1,9}"?$/, 'must be an ETag such as "3"')
  .transform((v) => Number(v.replace(/\D/g, '')))
  .optional();
