import { ProductErrors } from '../../domain/product.errors.ts';
import { ProductEventTypes } from '../../domain/product.events.ts';
import { emit, type ProductDependencies, productCacheKey, productEvent } from './product-context.ts';

export async function deleteProduct(deps: ProductDependencies, id: string, correlationId: string): Promise<void> {
  await deps.persistence.transaction(async (tx) => {
    const deleted = await tx.products.delete(id);
    if (!deleted) throw ProductErrors.notFound(id);
    await emit(
      tx.outbox,
      productEvent(deps, correlationId, {
        type: ProductEventTypes.deleted,
        aggregateId: id,
        payload: { id, version: deleted.version + 1 },
      }),
    );
  });
  await deps.cache.delete(productCacheKey(id));
}
