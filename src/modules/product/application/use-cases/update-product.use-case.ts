import { ProductErrors } from '../../domain/product.errors.ts';
import { ProductEventTypes } from '../../domain/product.events.ts';
import type { ProductChanges } from '../../domain/product.ts';
import type { ProductPorts } from '../ports/product-ports.ts';
import { emitProductEvents, productEvent } from '../product-events.ts';

/** Without If-Match a lost compare-and-set (a reservation moved the version) is retried on fresh data. */
const ATTEMPTS_WITHOUT_IF_MATCH = 5;

export async function updateProduct(
  deps: Pick<ProductPorts, 'persistence' | 'clock' | 'metrics'>,
  id: string,
  changes: ProductChanges,
  expectedVersion: number | undefined,
  correlationId: string,
) {
  for (let attempt = 1; ; attempt++) {
    const updated = await deps.persistence.transaction(async (tx) => {
      const current = await tx.products.findById(id);
      if (!current) throw ProductErrors.notFound(id);
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw ProductErrors.staleVersion(id, expectedVersion);
      }
      const next = current.change(changes, deps.clock.now());
      if (!(await tx.products.update(next, current.version))) return null;
      await emitProductEvents(
        tx.outbox,
        productEvent(deps.clock, correlationId, {
          type: ProductEventTypes.updated,
          aggregateId: id,
          payload: next.toPayload(),
        }),
      );
      return next;
    });
    if (updated) {
      deps.metrics?.productChanged('updated');
      return updated.toProps();
    }
    if (expectedVersion !== undefined) throw ProductErrors.staleVersion(id, expectedVersion);
    if (attempt >= ATTEMPTS_WITHOUT_IF_MATCH) throw ProductErrors.staleVersion(id, expectedVersion ?? 0);
  }
}
