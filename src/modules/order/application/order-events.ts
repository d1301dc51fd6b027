import type { Clock } from '../../../shared/clock.ts';
import { TOPICS } from '../../../shared/messaging/event-envelope.ts';
import { type EventDraft, makeEvent } from '../../../shared/messaging/make-event.ts';
import type { AppendOptions, Outbox } from '../../../shared/messaging/outbox.port.ts';

export const ORDER_SOURCE = 'order-service';

/** Optimistic writes that lose a race are retried on fresh state this many times. */
export const CAS_ATTEMPTS = 5;

/** Writes one of the order module's facts to `order-events`, in the caller's transaction. */
export function emitOrderEvent(
  outbox: Outbox,
  clock: Clock,
  correlationId: string,
  draft: EventDraft<unknown>,
  options?: AppendOptions,
): Promise<void> {
  return outbox.append(TOPICS.orderEvents, [makeEvent(ORDER_SOURCE, clock, correlationId, draft)], options);
}
