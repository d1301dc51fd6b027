import { ProductErrors } from './product.errors.ts';

export const MAX_SKU_LENGTH = 64;

/** A SKU is what warehouses print on labels: letters, digits and a few separators, case-sensitive. */
export const SKU_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_SKU_LENGTH - 1}}$`);
export const SKU_RULE = `must be 1-${MAX_SKU_LENGTH} letters, digits, ".", "_" or "-", starting with a letter or digit`;

export function assertSku(sku: string): void {
  if (!SKU_PATTERN.test(sku)) throw ProductErrors.invalid('sku', SKU_RULE);
}
