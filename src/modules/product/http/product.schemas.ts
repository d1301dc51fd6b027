import { z } from 'zod';
import { PageQuery } from '../../../edge/http/common-schemas.ts';

const name = z.string().trim().min(1).max(200);
const description = z.string().max(5000);
const priceCents = z.number().int().min(0).max(100_000_000_00);
const stock = z.number().int().min(0).max(1_000_000_000);

export const CreateProductBody = z
  .object({
    sku: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
    name,
    description: description.default(''),
    priceCents,
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
    stock,
  })
  .strict();

export const UpdateProductBody = z
  .object({ name, description, priceCents, stock })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one of name, description, priceCents, stock');

export const ListProductsQuery = z.object({ ...PageQuery, q: z.string().trim().min(1).max(100).optional() }).strict();

/** `If-Match: "<version>"` (a weak tag or a bare number is accepted too). */
export const IfMatch = z
  .string()
  .regex(/^(W\/)?"?\d{1,9}"?$/, 'must be an ETag such as "3"')
  .transform((v) => Number(v.replace(/\D/g, '')))
  .optional();
