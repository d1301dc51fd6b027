import { newId } from '../../../../shared/id.ts';
import { ProductEventTypes } from '../../domain/product.events.ts';
import { type NewProduct, Product } from '../../domain/product.ts';
import { emit, type ProductDependencies, productEvent } from './product-context.ts';

export async function createProduct(deps: ProductDependencies, input: NewProduct, correlationId: string) {
  const product = Product.create(newId(), input, deps.clock.now());
  await deps.persistence.transaction(async (tx) => {
    await tx.products.insert(product);
    await emit(
      tx.outbox,
      productEvent(deps, correlationId, {
        type: ProductEventTypes.created,
        aggregateId: product.id,
        payload: product.toPayload(),
      }),
    );
  });
  return product.toProps();
}
