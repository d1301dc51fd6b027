import { ProductErrors } from '../../domain/product.errors.ts';
import type { ProductProps } from '../../domain/product.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import { productCacheKey } from '../product-cache.ts';

const TTL_SECONDS = 60;

type CachedProduct = Omit<ProductProps, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

/** Look-aside cache; every write path and every stock event invalidates the entry. */
export async function getProduct(deps: Pick<ProductPorts, 'persistence' | 'cache'>, id: string): Promise<ProductProps> {
  const key = productCacheKey(id);
  const cached = await deps.cache.get<CachedProduct>(key);
  if (cached) return { ...cached, createdAt: new Date(cached.createdAt), updatedAt: new Date(cached.updatedAt) };
  const product = await deps.persistence.products.findById(id);
  if (!product) throw ProductErrors.notFound(id);
  const props = product.toProps();
  await deps.cache.set(key, props, TTL_SECONDS);
  return props;
}
