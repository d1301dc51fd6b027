import type { Logger } from '../../../shared/logger.port.ts';
import {
  deadLetterTopic,
  type ConsumerLag,
  type EventBus,
  type Subscription,
  subscribedAfterStart,
} from '../../../shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import { PARTITIONS } from '../../../shared/messaging/event-envelope.ts';
import { inEventScope } from '../../tracing/event-scope.ts';
import { partitionOf } from '../partition.ts';
import { defaultRetryPolicy, handleWithRetries, type RetryPolicy, sleep } from '../retry-policy.ts';
import { errorCode } from '../../logging/error-code.ts';
import { type DeadLetter, type DeadLetterLog, MemoryDeadLetterStore } from './dead-letter-store.ts';

export interface InProcessEventBusOptions {
  /** How a failing handler is retried before its event is parked. */
  retry?: RetryPolicy;
  /**
   * Where parked events are kept. In memory (lost at exit) unless given: a process that publishes real
   * events passes a durable one: the `dead_letters` table of the module that owns the group.
   */
  deadLetters?: DeadLetterLog;
  /** Told of every event parked (for metrics). */
  onDeadLetter?: (topic: string, group: string) => void;
}

/**
 * A fresh copy (handlers may mutate it) of the contract's envelope: the trace it carries is not one of its
 * fields (on Kafka it is a header), so a consumer cannot tell which adapter delivered it.
 */
function asDelivered(event: EventEnvelope): EventEnvelope {
  const copy = structuredClone(event);
  delete copy.traceparent;
  return copy;
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
  /** Events queued and not yet handled, by topic/group/partition (a key stays once seen, at 0 when idle). */
  readonly #queued = new Map<string, { group: string; topic: string; partition: number; messages: number }>();
  readonly #deadLetters: DeadLetterLog;
  readonly #onDeadLetter: ((topic: string, group: string) => void) | undefined;
  readonly #policy: RetryPolicy;
  readonly #logger: Logger;
  #started = false;
  #stopped = false;

  constructor(logger: Logger, options: InProcessEventBusOptions = {}) {
    this.#logger = logger;
    this.#policy = options.retry ?? defaultRetryPolicy;
    this.#deadLetters = options.deadLetters ?? new MemoryDeadLetterStore();
    this.#onDeadLetter = options.onDeadLetter;
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

  /**
   * Hands a parked event back to the one group that gave up on it (`hexashop dlq replay`), behind whatever
   * that group has queued for the event's partition, with the same retries; parked anew (a new letter) if
   * it fails again. Resolves with which it was. The group's handler is idempotent (its inbox), so an event
   * it did handle after all changes nothing.
   */
  async redeliver(letter: Pick<DeadLetter, 'topic' | 'group' | 'event'>): Promise<'handled' | 'parked'> {
    if (this.#stopped) throw new Error('event bus is stopped');
    const sub = this.#groups.get(letter.topic)?.find((s) => s.group === letter.group);
    if (!sub) throw new Error(`consumer group ${letter.group} does not consume ${letter.topic} in this process`);
    let outcome: 'handled' | 'parked' = 'handled';
    await this.#enqueue(sub, letter.event, partitionOf(letter.event.aggregateId), () => (outcome = 'parked'));
    return outcome;
  }

  async lag(): Promise<ConsumerLag[]> {
    return [...this.#queued.values()].map((entry) => ({ ...entry }));
  }

  #enqueue(sub: Subscription, event: EventEnvelope, partition: number, onParked?: () => void): Promise<void> {
    const lane = partition % PARTITIONS;
    const key = `${sub.topic}/${sub.group}/${lane}`;
    let queued = this.#queued.get(key);
    if (!queued) this.#queued.set(key, (queued = { group: sub.group, topic: sub.topic, partition: lane, messages: 0 }));
    queued.messages++;
    const next = (this.#tails.get(key) ?? Promise.resolve()).then(() => this.#deliver(sub, event, onParked));
    this.#tails.set(key, next);
    const settled = () => {
      queued.messages--;
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    };
    next.then(settled, settled);
    return next;
  }

  /** Each attempt, and parking, in the event's scope; the handler gets the envelope as Kafka would hand it over. */
  #deliver(sub: Subscription, event: EventEnvelope, onParked?: () => void): Promise<void> {
    const { topic, group } = sub;
    return inEventScope(event, { system: 'in-process', topic, group, traceparent: event.traceparent }, () =>
      handleWithRetries({
        event,
        where: { topic, group },
        policy: this.#policy,
        logger: this.#logger,
        attempt: () => sub.handler(asDelivered(event)),
        park: async (error, attempts) => {
          await this.#park(sub, event, error, attempts);
          onParked?.();
        },
        backOff: sleep,
      }),
    );
  }

  async #park(sub: Subscription, event: EventEnvelope, error: unknown, attempts: number): Promise<void> {
    const letter: DeadLetter = {
      topic: sub.topic,
      group: sub.group,
      error: String(error).slice(0, MAX_ERROR_LENGTH),
      code: errorCode(error, 'EVENT_HANDLER_FAILED'),
      attempts,
      parkedAt: new Date().toISOString(),
      event,
    };
    const where = { ...letter, deadLetterTopic: deadLetterTopic(sub.topic) };
    try {
      await this.#deadLetters.append(letter);
    } catch (failure) {
      this.#logger.error('could not park event; it will be delivered again', {
        ...where,
        code: 'EVENT_PARK_FAILED',
        failure: String(failure),
      });
      throw failure;
    }
    this.#onDeadLetter?.(sub.topic, sub.group);
    this.#logger.error('event parked on dead-letter topic', { ...where, code: 'EVENT_PARKED' });
  }
}
