import type { Clock } from '../clock.ts';
import { newId } from '../id.ts';
import type { EventEnvelope } from './event-envelope.ts';

export interface EventDraft<P> {
  type: string;
  aggregateId: string;
  payload: P;
}

/** Wraps a domain fact into the contract's envelope. */
export function makeEvent<P>(
  source: string,
  clock: Clock,
  correlationId: string,
  draft: EventDraft<P>,
): EventEnvelope<P> {
  return {
    id: newId(),
    type: draft.type,
    version: 1,
    occurredAt: clock.now().toISOString(),
    source,
    aggregateId: draft.aggregateId,
    correlationId,
    payload: draft.payload,
  };
}
