import type { EventEnvelope } from './event-envelope.ts';

export type EventHandler = (event: EventEnvelope) => Promise<void>;

export interface Subscription {
  /** Consumer group: every group sees every event once (at least once); members of one group share them. */
  group: string;
  topic: string;
  handler: EventHandler;
  /**
   * Where a group that has never consumed starts: the beginning (default; a new service misses nothing)
   * or only what is published from now on (broadcast groups, such as cache invalidation per instance).
   */
  startAt?: 'earliest' | 'latest';
}

/**
 * Delivery is at least once and ordered per aggregate (per key). A handler that throws gets the event
 * again after a back-off; after the configured number of attempts the event is parked on the topic's
 * dead-letter topic and the partition moves on. Nothing is ever dropped silently.
 */
export interface EventBus {
  publish(topic: string, events: readonly EventEnvelope[]): Promise<void>;
  subscribe(subscription: Subscription): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Null when healthy, else why not (for /health/ready). */
  problem(): string | null;
}

/** One dead-letter topic per topic; which consumer group parked an event travels with it (a header on Kafka). */
export const deadLetterTopic = (topic: string) => `${topic}.dlq`;
