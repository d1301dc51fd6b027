import type { Cache } from '../../../shared/cache.port.ts';
import type { ProductProps } from '../domain/product.ts';

export const productCacheKey = (id: string) => `product:${id}`;

/** Drops the cached copies of these products (a write or a stock movement changed them). */
export async function invalidateProducts(cache: Cache, productIds: readonly string[]): Promise<void> {
  await Promise.all(productIds.map((id) => cache.delete(productCacheKey(id))));
}

/**
 * A product as it is read: its JSON document (the props as JSON.stringify writes them: the dates in ISO 8601,
 * which is the API's Product) and its version (the ETag), so that a read served from the cache is a string
 * handed on, never parsed and serialised again.
 */
export interface ProductDocument {
  version: number;
  json: string;
}

export const productDocument = (props: ProductProps): ProductDocument => ({
  version: props.version,
  json: JSON.stringify(props),
});

/** A cache entry is the version, a space, then the JSON: `3 {"id":…}`. */
export const encodeCachedProduct = ({ version, json }: ProductDocument): string => `${version} ${json}`;

/** The document of a cache entry; undefined for a miss or an entry in any other form (a miss too). */
export function decodeCachedProduct(entry: string | undefined): ProductDocument | undefined {
  if (entry === undefined) return undefined;
  const space = entry.indexOf(' ');
  const version = space > 0 ? Number(entry.slice(0, space)) : Number.NaN;
  if (!Number.isSafeInteger(version) || entry.charCodeAt(space + 1) !== 123 /* { */) return undefined;
  return { version, json: entry.slice(space + 1) };
}
