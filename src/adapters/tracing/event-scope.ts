import type { EventEnvelope } from '../../shared/messaging/event-envelope.ts';
import { requestScope } from '../logging/request-scope.ts';
import { spanned, startSpan } from './spans.ts';
import { childTraceparent, eventTraceparent } from './traceparent.ts';

export interface Delivery {
  /** Which bus delivers it: `kafka` or `in-process`. */
  system: string;
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
export function inEventScope<T>(event: EventEnvelope, delivery: Delivery, fn: () => Promise<T>): Promise<T> {
  const { topic, group } = delivery;
  const parent = eventTraceparent(delivery.traceparent, event.correlationId);
  const span = startSpan(
    `process ${topic}`,
    'consumer',
    {
      'messaging.system': delivery.system,
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': group,
      'messaging.message.id': event.id,
      'hexashop.event_type': event.type,
      'hexashop.correlation_id': event.correlationId,
    },
    parent,
  );
  const scope = {
    eventId: event.id,
    correlationId: event.correlationId,
    traceparent: span?.traceparent ?? childTraceparent(parent),
    topic,
    group,
  };
  if (span === undefined) return requestScope.run(scope, fn);
  return requestScope.run(scope, () => spanned(span, fn));
}
