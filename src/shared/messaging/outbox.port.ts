import type { EventEnvelope } from './event-envelope.ts';

/** Written in the same transaction as the change the events describe (transactional outbox). */
export interface Outbox {
  append(topic: string, events: readonly EventEnvelope[]): Promise<void>;
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
