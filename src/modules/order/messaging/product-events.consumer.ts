import { z } from 'zod';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import type { OrderUseCases } from '../application/order-use-cases.ts';

/**
 * The order module's own copy of the product events it consumes (it never imports the product module).
 * test/contract/integration-events.test.ts binds each copy to what the product module really publishes.
 */
const ProductSnapshot = z.object({
  id: z.uuid(),
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int().nonnegative(),
  currency: z.string().length(3),
  version: z.number().int().positive(),
});
const ProductDeleted = z.object({ id: z.uuid(), version: z.number().int().positive() });
const Line = z.object({
  productId: z.uuid(),
  sku: z.string(),
  name: z.string(),
  unitPriceCents: z.number().int().nonnegative(),
  currency: z.string(),
  quantity: z.number().int().positive(),
});
const StockReserved = z.object({ orderId: z.uuid(), lines: z.array(Line) });
const StockReservationRejected = z.object({ orderId: z.uuid(), reason: z.string() });

/** The payload schema of every product event this consumer reads, by event type. */
export const ProductEventSchemas = {
  ProductCreated: ProductSnapshot,
  ProductUpdated: ProductSnapshot,
  ProductDeleted,
  StockReserved,
  StockReservationRejected,
} as const;

export const ORDER_CONSUMER = 'order-service';

/** Driving adapter: keeps the catalog replica current and settles orders from reservation outcomes. */
export function handleProductEvent(useCases: Pick<OrderUseCases, 'settleOrder' | 'updateCatalogReplica'>) {
  return async (event: EventEnvelope): Promise<void> => {
    const inbox = { consumer: ORDER_CONSUMER, eventId: event.id };
    const { correlationId } = event;
    switch (event.type) {
      case 'ProductCreated':
      case 'ProductUpdated': {
        const p = ProductEventSchemas[event.type].parse(event.payload);
        const entry = { productId: p.id, sku: p.sku, name: p.name, priceCents: p.priceCents, currency: p.currency };
        await useCases.updateCatalogReplica({ ...entry, version: p.version, deleted: false }, inbox);
        return;
      }
      case 'ProductDeleted': {
        const p = ProductEventSchemas.ProductDeleted.parse(event.payload);
        const tombstone = { productId: p.id, sku: '', name: '', priceCents: 0, currency: 'XXX', version: p.version };
        await useCases.updateCatalogReplica({ ...tombstone, deleted: true }, inbox);
        return;
      }
      case 'StockReserved': {
        const { orderId, lines } = ProductEventSchemas.StockReserved.parse(event.payload);
        await useCases.settleOrder({ orderId, result: { status: 'RESERVED', lines }, correlationId, inbox });
        return;
      }
      case 'StockReservationRejected': {
        const { orderId, reason } = ProductEventSchemas.StockReservationRejected.parse(event.payload);
        await useCases.settleOrder({ orderId, result: { status: 'REJECTED', reason }, correlationId, inbox });
        return;
      }
      default:
        return; // StockReleased needs nothing from the order module
    }
  };
}
