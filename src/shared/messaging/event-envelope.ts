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
}

export const TOPICS = {
  productEvents: 'product-events',
  orderEvents: 'order-events',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export const PARTITIONS = 6;
