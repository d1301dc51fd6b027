import type { Logger } from '../../../shared/logger.port.ts';
import { deadLetterTopic, type EventBus, type Subscription } from '../../../shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import { PARTITIONS } from '../../../shared/messaging/event-envelope.ts';
import { partitionOf } from '../partition.ts';
import { backoffMs, defaultRetryPolicy, type RetryPolicy, sleep } from '../retry-policy.ts';

export interface DeadLetter {
  topic: string;
  group: string;
  event: EventEnvelope;
  error: string;
}

/**
 * The event bus inside one process, behaving as a broker would: every consumer group gets every event,
 * partitioned by aggregate id so one aggregate's events are handled in order; a handler that throws gets
 * the event again after a back-off, and after the last attempt the event is parked as a dead letter
 * (logged in full and kept) while the partition moves on.
 *
 * `publish` resolves when every group has finished with the events (handled or parked): the outbox relay
 * marks them published only then, so a crash mid-delivery means redelivery after restart, never loss.
 */
export class InProcessEventBus implements EventBus {
  readonly #groups = new Map<string, Subscription[]>();
  /** One promise chain per (topic, group, partition): the tail of work queued there. */
  readonly #tails = new Map<string, Promise<void>>();
  readonly #deadLetters: DeadLetter[] = [];
  readonly #policy: RetryPolicy;
  readonly #logger: Logger;
  #stopped = false;

  constructor(logger: Logger, policy: RetryPolicy = defaultRetryPolicy) {
    this.#logger = logger;
    this.#policy = policy;
  }

  subscribe(subscription: Subscription): void {
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
    this.#stopped = false;
  }

  /** Stops taking events and waits for the ones in hand. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#tails.values());
  }

  problem(): string | null {
    return this.#stopped ? 'event bus stopped' : null;
  }

  deadLetters(): readonly DeadLetter[] {
    return this.#deadLetters;
  }

  #enqueue(sub: Subscription, event: EventEnvelope, partition: number): Promise<void> {
    const key = `${sub.topic}/${sub.group}/${partition % PARTITIONS}`;
    const next = (this.#tails.get(key) ?? Promise.resolve()).then(() => this.#deliver(sub, event));
    this.#tails.set(key, next);
    void next.finally(() => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    });
    return next;
  }

  async #deliver(sub: Subscription, event: EventEnvelope): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await sub.handler(structuredClone(event));
        return;
      } catch (error) {
        if (attempt >= this.#policy.maxAttempts) return this.#park(sub, event, error);
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

  #park(sub: Subscription, event: EventEnvelope, error: unknown): void {
    const letter = { topic: deadLetterTopic(sub.topic), group: sub.group, event, error: String(error) };
    this.#deadLetters.push(letter);
    this.#logger.error('event parked on dead-letter topic', { ...letter });
  }
}
