import { ProductErrors } from './product.errors.ts';

/** A SKU is what warehouses print on labels: letters, digits and a few separators, case-sensitive. */
const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function assertSku(sku: string): void {
  if (!SKU.test(sku)) {
    throw ProductErrors.invalid(
      'sku',
      'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
}
