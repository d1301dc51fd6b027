import type { Cache } from '../../../../shared/cache.port.ts';
import type { Clock } from '../../../../shared/clock.ts';
import type { EventEnvelope } from '../../../../shared/messaging/event-envelope.ts';
import { TOPICS } from '../../../../shared/messaging/event-envelope.ts';
import type { EventDraft } from '../../../../shared/messaging/make-event.ts';
import { makeEvent } from '../../../../shared/messaging/make-event.ts';
import type { Outbox } from '../../../../shared/messaging/outbox.port.ts';
import type { ProductPersistence } from '../ports/product-persistence.port.ts';

/** What every product use case may depend on. Bound in product.module.ts. */
export interface ProductDependencies {
  persistence: ProductPersistence;
  clock: Clock;
  cache: Cache;
}

export const PRODUCT_SOURCE = 'product-service';

export function productEvent<P>(
  deps: ProductDependencies,
  correlationId: string,
  draft: EventDraft<P>,
): EventEnvelope<P> {
  return makeEvent(PRODUCT_SOURCE, deps.clock, correlationId, draft);
}

export function emit(outbox: Outbox, ...events: EventEnvelope[]): Promise<void> {
  return outbox.append(TOPICS.productEvents, events);
}

export const productCacheKey = (id: string) => `product:${id}`;
