import { newId } from '../../../../shared/id.ts';
import { ProductEventTypes } from '../../domain/product.events.ts';
import { type NewProduct, Product } from '../../domain/product.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import { emitProductEvents, productEvent } from '../product-events.ts';

export async function createProduct(
  deps: Pick<ProductPorts, 'persistence' | 'clock' | 'metrics'>,
  input: NewProduct,
  correlationId: string,
) {
  const product = Product.create(newId(), input, deps.clock.now());
  await deps.persistence.transaction(async (tx) => {
    await tx.products.insert(product);
    await emitProductEvents(
      tx.outbox,
      productEvent(deps.clock, correlationId, {
        type: ProductEventTypes.created,
        aggregateId: product.id,
        payload: product.toPayload(),
      }),
    );
  });
  deps.metrics?.productChanged('created');
  return product.toProps();
}
