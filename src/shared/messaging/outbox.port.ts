import type { EventEnvelope } from './event-envelope.ts';

export interface AppendOptions {
  /**
   * Hold the events back until then: a crash guard that fires only if nothing withdraws it first. Sync
   * placement schedules OrderPlaced this way; settling the order withdraws it (see `withdrawScheduled`).
   */
  notBefore?: Date;
}

/** Written in the same transaction as the change the events describe (transactional outbox). */
export interface Outbox {
  append(topic: string, events: readonly EventEnvelope[], options?: AppendOptions): Promise<void>;
  /** Drops the aggregate's scheduled events that have not gone out yet: the guard they were is not needed. */
  withdrawScheduled(aggregateId: string): Promise<void>;
  /** Lets the aggregate's scheduled events go out at once, in their place in commit order. */
  releaseScheduled(aggregateId: string): Promise<void>;
}

/** Written in the same transaction as a consumer's effect, so a redelivered event changes nothing. */
export interface Inbox {
  /** Returns false when this consumer has already processed the event. */
  markProcessed(consumer: string, eventId: string): Promise<boolean>;
}

/** Which consumer is handling which event, for the inbox record a use case writes with its effect. */
export interface InboxEntry {
  consumer: string;
  eventId: string;
}

/** True when the work should go ahead: no entry (a direct call) or an event not seen before by this consumer. */
export async function firstDelivery(inbox: Inbox, entry: InboxEntry | undefined): Promise<boolean> {
  return entry === undefined || inbox.markProcessed(entry.consumer, entry.eventId);
}
