import { ProductErrors } from '../../domain/product.errors.ts';
import type { ReadAfter } from '../ports/product-persistence.port.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import type { ProductDocument } from '../product-document.ts';

/**
 * The product's JSON document. Caching is the persistence port's business (a cached adapter in front of
 * the repository, composed in bootstrap): a hit is the stored text handed on, never parsed.
 */
export async function getProduct(
  deps: Pick<ProductPorts, 'persistence'>,
  id: string,
  readAfter?: ReadAfter,
): Promise<ProductDocument> {
  // Only a read that must see a write passes a position (and so skips what a cache may hold).
  const products = deps.persistence.products;
  const document = await (readAfter === undefined ? products.findDocument(id) : products.findDocument(id, readAfter));
  if (!document) throw ProductErrors.notFound(id);
  return document;
}
