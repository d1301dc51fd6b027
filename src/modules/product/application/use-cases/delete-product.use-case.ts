import { ProductErrors } from '../../domain/product.errors.ts';
import { ProductEventTypes } from '../../domain/product.events.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import { emitProductEvents, productEvent } from '../product-events.ts';

export async function deleteProduct(
  deps: Pick<ProductPorts, 'persistence' | 'clock' | 'metrics'>,
  id: string,
  correlationId: string,
): Promise<void> {
  await deps.persistence.transaction(async (tx) => {
    const deleted = await tx.products.delete(id);
    if (!deleted) throw ProductErrors.notFound(id);
    await emitProductEvents(
      tx.outbox,
      productEvent(deps.clock, correlationId, {
        type: ProductEventTypes.deleted,
        aggregateId: id,
        payload: { id, version: deleted.version + 1 },
      }),
    );
  });
  deps.metrics?.productChanged('deleted');
}
