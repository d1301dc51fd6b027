import type { Cache } from '../../../shared/cache.port.ts';

export const productCacheKey = (id: string) => `product:${id}`;

/** Drops the cached copies of these products (a write or a stock movement changed them). */
export async function invalidateProducts(cache: Cache, productIds: readonly string[]): Promise<void> {
  await Promise.all(productIds.map((id) => cache.delete(productCacheKey(id))));
}
