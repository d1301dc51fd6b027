/**
 * The integration-event envelope every topic carries (see the contract): the same shape on the
 * in-process bus and on Kafka, so consumers cannot tell which adapter delivered it.
 */
export interface EventEnvelope<P = unknown> {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  source: string;
  aggregateId: string;
  correlationId: string;
  payload: P;
  /**
   * The W3C traceparent of the work that made the event (a span of the request or handler in scope).
   * Not one of the contract's envelope fields: it is kept in the outbox row, travels as the `traceparent`
   * header on Kafka, and is taken off before a handler sees the envelope. Absent on events made outside
   * any trace (and on outbox rows written before it existed).
   */
  traceparent?: string;
}

export const TOPICS = {
  productEvents: 'product-events',
  orderEvents: 'order-events',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export const PARTITIONS = 6;
