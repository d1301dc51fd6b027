import { z } from 'zod';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import type { ProductUseCases } from '../application/product-use-cases.ts';

/**
 * The product module's own copy of the order events it consumes (it never imports the order module), by
 * event type. test/contract/integration-events.test.ts binds each copy to what the order module publishes.
 */
export const OrderEventSchemas = {
  OrderPlaced: z.object({
    orderId: z.uuid(),
    items: z.array(z.object({ productId: z.uuid(), quantity: z.number().int().positive() })).min(1),
  }),
  OrderCancelled: z.object({ orderId: z.uuid() }),
} as const;

export const PRODUCT_CONSUMER = 'product-service';

/** Driving adapter: turns order events into stock reservations and releases. */
export function handleOrderEvent(useCases: Pick<ProductUseCases, 'reserveStock' | 'releaseStock'>) {
  return async (event: EventEnvelope): Promise<void> => {
    const inbox = { consumer: PRODUCT_CONSUMER, eventId: event.id };
    switch (event.type) {
      case 'OrderPlaced': {
        const { orderId, items } = OrderEventSchemas.OrderPlaced.parse(event.payload);
        await useCases.reserveStock({ orderId, items, correlationId: event.correlationId, inbox });
        return;
      }
      case 'OrderCancelled': {
        const { orderId } = OrderEventSchemas.OrderCancelled.parse(event.payload);
        await useCases.releaseStock({ orderId, correlationId: event.correlationId, inbox });
        return;
      }
      default:
        return; // other order events are not the product module's business
    }
  };
}
