import { type Page, toPage } from '../../../../shared/page.ts';
import type { ProductProps } from '../../domain/product.ts';
import type { ProductQuery } from '../ports/product-persistence.port.ts';
import type { ProductPorts } from '../ports/product-ports.ts';

export async function listProducts(
  deps: Pick<ProductPorts, 'persistence'>,
  query: ProductQuery,
): Promise<Page<ProductProps>> {
  const rows = await deps.persistence.products.list({ ...query, limit: query.limit + 1 });
  return toPage(
    rows.map((p) => p.toProps()),
    query.limit,
  );
}
