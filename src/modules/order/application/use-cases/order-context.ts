import type { Clock } from '../../../../shared/clock.ts';
import type { Logger } from '../../../../shared/logger.port.ts';
import { TOPICS } from '../../../../shared/messaging/event-envelope.ts';
import { type EventDraft, makeEvent } from '../../../../shared/messaging/make-event.ts';
import type { AppendOptions, Outbox } from '../../../../shared/messaging/outbox.port.ts';
import type { OrderPersistence } from '../ports/order-persistence.port.ts';
import type { ProductCatalog } from '../ports/product-catalog.port.ts';

/** What every order use case may depend on. Bound in order.module.ts. */
export interface OrderDependencies {
  persistence: OrderPersistence;
  catalog: ProductCatalog;
  clock: Clock;
  logger: Logger;
}

export const ORDER_SOURCE = 'order-service';

/** Optimistic writes that lose a race are retried on fresh state this many times. */
export const CAS_ATTEMPTS = 5;

export function emit(
  deps: OrderDependencies,
  outbox: Outbox,
  correlationId: string,
  draft: EventDraft<unknown>,
  options?: AppendOptions,
) {
  return outbox.append(TOPICS.orderEvents, [makeEvent(ORDER_SOURCE, deps.clock, correlationId, draft)], options);
}

export interface Actor {
  id: string;
  role: 'admin' | 'customer';
}

/** A customer sees only their own orders; to them, anyone else's simply does not exist. */
export const canSee = (actor: Actor, customerId: string) => actor.role === 'admin' || actor.id === customerId;
