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
 * dead-letter topic and the partition moves on. Nothing is ever dropped silently: a parked event, with
 * its topic, the group that gave up and why, outlives the process (Kafka: `<topic>.dlq` on the broker;
 * in process: the dead-letter store the composition root gives it, a file in the data directory).
 */
export interface EventBus {
  publish(topic: string, events: readonly EventEnvelope[]): Promise<void>;
  /**
   * Registers a consumer group's handler for a topic. Only before `start()`: afterwards every adapter
   * throws (see `subscribedAfterStart`), whether the bus is starting, running or stopped.
   *
   * Why no late subscriptions: the subscriptions are the process's wiring, made once in the composition
   * root, and neither adapter could honour a late one as the contract reads. On Kafka a group's topics
   * are fixed while its consumer runs (adding one means leaving and rejoining the group, a rebalance for
   * every instance); in process there is no log, so a late group would silently miss everything already
   * published, where a new group is promised the beginning (`startAt: 'earliest'`). A clear error at
   * start-up beats an event quietly lost in production.
   */
  subscribe(subscription: Subscription): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Null when healthy, else why not (for /health/ready). */
  problem(): string | null;
  /**
   * What this process's consumer groups have yet to handle, per partition of their topics: on Kafka the
   * broker's newest offset beyond the group's committed one (the whole group's, whichever instance
   * asks); in process, the events queued and not yet handled. For metrics; never for control flow.
   */
  lag(): Promise<ConsumerLag[]>;
}

export interface ConsumerLag {
  group: string;
  topic: string;
  partition: number;
  messages: number;
}

/** One dead-letter topic per topic; which consumer group parked an event travels with it (a header on Kafka). */
export const deadLetterTopic = (topic: string) => `${topic}.dlq`;

/** What `subscribe` throws once the bus has started. */
export const subscribedAfterStart = ({ group, topic }: Subscription) =>
  new Error(`cannot subscribe group ${group} to ${topic}: subscribe before the event bus starts`);
