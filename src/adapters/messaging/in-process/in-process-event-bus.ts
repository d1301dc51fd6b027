import type { Logger } from '../../../shared/logger.port.ts';
import {
  deadLetterTopic,
  type EventBus,
  type Subscription,
  subscribedAfterStart,
} from '../../../shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import { PARTITIONS } from '../../../shared/messaging/event-envelope.ts';
import { partitionOf } from '../partition.ts';
import { backoffMs, defaultRetryPolicy, type RetryPolicy, sleep } from '../retry-policy.ts';
import { type DeadLetter, type DeadLetterStore, MemoryDeadLetterStore } from './dead-letter-store.ts';

export interface InProcessEventBusOptions {
  /** How a failing handler is retried before its event is parked. */
  retry?: RetryPolicy;
  /**
   * Where parked events are kept. In memory (lost at exit) unless given: a process that publishes real
   * events passes a durable one, such as a FileDeadLetterStore in its data directory.
   */
  deadLetters?: DeadLetterStore;
}

/** As on Kafka's dead-letter headers: enough to see why, without carrying a whole stack around. */
const MAX_ERROR_LENGTH = 1_000;

/**
 * The event bus inside one process, behaving as a broker would: every consumer group gets every event,
 * partitioned by aggregate id so one aggregate's events are handled in order; a handler that throws gets
 * the event again after a back-off, and after the last attempt the event is parked as a dead letter
 * (logged in full and kept in the dead-letter store) while the partition moves on.
 *
 * `publish` resolves when every group has finished with the events (handled or parked): the outbox relay
 * marks them published only then, so a crash mid-delivery means redelivery after restart, never loss.
 * If parking itself fails, `publish` rejects, and so does every delivery queued behind the event in its
 * partition: the relay delivers them all again, in order, as a Kafka consumer commits nothing past an
 * event it could not park.
 */
export class InProcessEventBus implements EventBus {
  readonly #groups = new Map<string, Subscription[]>();
  /** One promise chain per (topic, group, partition): the tail of work queued there. */
  readonly #tails = new Map<string, Promise<void>>();
  readonly #deadLetters: DeadLetterStore;
  readonly #policy: RetryPolicy;
  readonly #logger: Logger;
  #started = false;
  #stopped = false;

  constructor(logger: Logger, options: InProcessEventBusOptions = {}) {
    this.#logger = logger;
    this.#policy = options.retry ?? defaultRetryPolicy;
    this.#deadLetters = options.deadLetters ?? new MemoryDeadLetterStore();
  }

  subscribe(subscription: Subscription): void {
    if (this.#started) throw subscribedAfterStart(subscription);
    const list = this.#groups.get(subscription.topic) ?? [];
    if (list.some((s) => s.group === subscription.group)) {
      throw new Error(`group ${subscription.group} already subscribed to ${subscription.topic}`);
    }
    this.#groups.set(subscription.topic, [...list, subscription]);
  }

  async publish(topic: string, events: readonly EventEnvelope[]): Promise<void> {
    if (this.#stopped) throw new Error('event bus is stopped');
    const deliveries = (this.#groups.get(topic) ?? []).flatMap((sub) =>
      events.map((event) => this.#enqueue(sub, event, partitionOf(event.aggregateId))),
    );
    await Promise.all(deliveries);
  }

  async start(): Promise<void> {
    this.#started = true;
    this.#stopped = false;
  }

  /** Stops taking events and waits for the ones in hand. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled(this.#tails.values());
  }

  problem(): string | null {
    return this.#stopped ? 'event bus stopped' : null;
  }

  /** Every event parked so far, this run's and (with a durable store) earlier runs'. */
  deadLetters(): Promise<DeadLetter[]> {
    return this.#deadLetters.read();
  }

  #enqueue(sub: Subscription, event: EventEnvelope, partition: number): Promise<void> {
    const key = `${sub.topic}/${sub.group}/${partition % PARTITIONS}`;
    const next = (this.#tails.get(key) ?? Promise.resolve()).then(() => this.#deliver(sub, event));
    this.#tails.set(key, next);
    const settled = () => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    };
    next.then(settled, settled);
    return next;
  }

  async #deliver(sub: Subscription, event: EventEnvelope): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await sub.handler(structuredClone(event));
        return;
      } catch (error) {
        if (attempt >= this.#policy.maxAttempts) return this.#park(sub, event, error, attempt);
        this.#logger.warn('event handler failed; will retry', {
          topic: sub.topic,
          group: sub.group,
          eventId: event.id,
          type: event.type,
          attempt,
          error: String(error),
        });
        await sleep(backoffMs(this.#policy, attempt));
      }
    }
  }

  async #park(sub: Subscription, event: EventEnvelope, error: unknown, attempts: number): Promise<void> {
    const letter: DeadLetter = {
      topic: sub.topic,
      group: sub.group,
      error: String(error).slice(0, MAX_ERROR_LENGTH),
      attempts,
      parkedAt: new Date().toISOString(),
      event,
    };
    const where = { ...letter, deadLetterTopic: deadLetterTopic(sub.topic) };
    try {
      await this.#deadLetters.append(letter);
    } catch (failure) {
      this.#logger.error('could not park event; it will be delivered again', { ...where, failure: String(failure) });
      throw failure;
    }
    this.#logger.error('event parked on dead-letter topic', where);
  }
}
