import { z } from 'zod';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import type { ProductCacheInvalidation } from '../application/ports/product-cache.port.ts';

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
 * Event-driven cache invalidation: whichever instance made a change, every instance (each in its own consumer
 * group) drops its cached copies of the products the change touched, in process and in Redis. The cache drops
 * them at once for the writes of its own instance; this covers the other instances'.
 */
export function invalidateProductCache(cache: ProductCacheInvalidation) {
  return async (event: EventEnvelope): Promise<void> => {
    const { id, lines = [] } = ProductIds.parse(event.payload);
    const ids = [...(id ? [id] : []), ...lines.map((l) => l.productId)];
    if (ids.length > 0) await cache.forget(ids);
  };
}
