import type { EventEnvelope } from '../../shared/messaging/event-envelope.ts';
import { requestScope } from '../logging/request-scope.ts';
import { childTraceparent, eventTraceparent } from './traceparent.ts';

export interface Delivery {
  topic: string;
  group: string;
  /** The trace the event carries (on Kafka its `traceparent` header); derived from its correlation id if none. */
  traceparent: string | undefined;
}

/**
 * Runs a consumer group's handling of one event (every attempt, and parking it) in a scope of its own, as
 * the edge does for a request: every log line written meanwhile carries the event id, the correlation id,
 * the topic and the group, and a traceparent that is a child span of the event's, which calls and events
 * made by the handler continue. It replaces whatever scope the publisher was in (the in-process bus runs
 * handlers from the publisher's promise chain), so a handler never logs under the request that published.
 */
export function inEventScope<T>(event: EventEnvelope, { topic, group, traceparent }: Delivery, fn: () => T): T {
  const parent = eventTraceparent(traceparent, event.correlationId);
  return requestScope.run(
    { eventId: event.id, correlationId: event.correlationId, traceparent: childTraceparent(parent), topic, group },
    fn,
  );
}
