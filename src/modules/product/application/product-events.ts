import type { Clock } from '../../../shared/clock.ts';
import { type EventEnvelope, TOPICS } from '../../../shared/messaging/event-envelope.ts';
import { type EventDraft, makeEvent } from '../../../shared/messaging/make-event.ts';
import type { Outbox } from '../../../shared/messaging/outbox.port.ts';

export const PRODUCT_SOURCE = 'product-service';

/** One of the product module's facts, in the contract's envelope. */
export function productEvent<P>(clock: Clock, correlationId: string, draft: EventDraft<P>): EventEnvelope<P> {
  return makeEvent(PRODUCT_SOURCE, clock, correlationId, draft);
}

/** Writes facts to `product-events`, in the caller's transaction. */
export function emitProductEvents(outbox: Outbox, ...events: EventEnvelope[]): Promise<void> {
  return outbox.append(TOPICS.productEvents, events);
}
