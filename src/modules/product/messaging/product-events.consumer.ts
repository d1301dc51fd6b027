import { z } from 'zod';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import type { Cache } from '../../../shared/cache.port.ts';
import { invalidateProducts } from '../application/product-cache.ts';

/**
 * What cache invalidation reads of any product event: the product's `id` (ProductCreated, ProductUpdated,
 * ProductDeleted) or its reservation's `lines` (StockReserved, StockReleased). Both are optional, so a
 * renamed field would parse and invalidate nothing: test/contract/integration-events.test.ts guards that.
 */
export const ProductIds = z.object({
  id: z.uuid().optional(),
  lines: z.array(z.object({ productId: z.uuid() })).optional(),
});

/**
 * Event-driven cache invalidation: whichever instance made a change, every instance (and a shared Redis
 * cache) drops the entries the change touched. Write paths also invalidate at once; this covers the rest.
 */
export function invalidateProductCache(cache: Cache) {
  return async (event: EventEnvelope): Promise<void> => {
    const { id, lines = [] } = ProductIds.parse(event.payload);
    const ids = [...(id ? [id] : []), ...lines.map((l) => l.productId)];
    await invalidateProducts(cache, ids);
  };
}
