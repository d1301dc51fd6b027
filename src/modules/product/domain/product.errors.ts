import { conflict, DomainError, invalid, notFound } from '../../../shared/domain-error.ts';

export const ProductErrors = {
  notFound: (id: string) => notFound('PRODUCT_NOT_FOUND', `product ${id} does not exist`),
  skuTaken: (sku: string) => conflict('SKU_TAKEN', `a product with sku ${sku} already exists`),
  staleVersion: (id: string, expected: number) =>
    new DomainError('precondition-failed', 'STALE_VERSION', `product ${id} is no longer at version ${expected}`),
  invalid: (field: string, why: string) => invalid('INVALID_PRODUCT', `${field} ${why}`),
};
