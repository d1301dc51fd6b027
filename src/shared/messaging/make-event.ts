import type { Clock } from '../clock.ts';
import { newId } from '../id.ts';
import type { EventEnvelope } from './event-envelope.ts';

export interface EventDraft<P> {
  type: string;
  aggregateId: string;
  payload: P;
}

/** The traceparent an event made now should carry, if a trace is in scope; none until an adapter says how. */
let traceOfNewEvent: (event: EventEnvelope) => string | undefined = () => undefined;

/**
 * Tells `makeEvent` where the trace of the work in hand is. The kernel cannot see the request scope (an
 * adapter's async-local store), so the tracing adapter hands it a function once, when it is loaded.
 */
export function traceEventsWith(source: (event: EventEnvelope) => string | undefined): void {
  traceOfNewEvent = source;
}

/** Wraps a domain fact into the contract's envelope, with the trace it was made in (if any). */
export function makeEvent<P>(
  source: string,
  clock: Clock,
  correlationId: string,
  draft: EventDraft<P>,
): EventEnvelope<P> {
  const event: EventEnvelope<P> = {
    id: newId(),
    type: draft.type,
    version: 1,
    occurredAt: clock.now().toISOString(),
    source,
    aggregateId: draft.aggregateId,
    correlationId,
    payload: draft.payload,
  };
  const traceparent = traceOfNewEvent(event);
  if (traceparent !== undefined) event.traceparent = traceparent;
  return event;
}
