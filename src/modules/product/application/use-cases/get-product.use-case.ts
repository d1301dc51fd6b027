import { ProductErrors } from '../../domain/product.errors.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import {
  decodeCachedProduct,
  encodeCachedProduct,
  type ProductDocument,
  productCacheKey,
  productDocument,
} from '../product-cache.ts';

const TTL_SECONDS = 60;

/**
 * Look-aside cache; every write path and every stock event invalidates the entry. The cache keeps the
 * product's JSON document, so a hit is returned as it was stored.
 */
export async function getProduct(
  deps: Pick<ProductPorts, 'persistence' | 'cache'>,
  id: string,
): Promise<ProductDocument> {
  const key = productCacheKey(id);
  const cached = decodeCachedProduct(await deps.cache.getText(key));
  if (cached) return cached;
  const product = await deps.persistence.products.findById(id);
  if (!product) throw ProductErrors.notFound(id);
  const document = productDocument(product.toProps());
  await deps.cache.setText(key, encodeCachedProduct(document), TTL_SECONDS);
  return document;
}
