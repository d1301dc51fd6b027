import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Logger } from '../../../shared/logger.port.ts';
import {
  type ConsumerLag,
  deadLetterTopic,
  type EventBus,
  type EventHandler,
  type Subscription,
  subscribedAfterStart,
} from '../../../shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import { inEventScope } from '../../tracing/event-scope.ts';
import { defaultRetryPolicy, handleWithRetries, type RetryPolicy, sleep } from '../retry-policy.ts';
import { createKafkaClient, type KafkaConnectionOptions } from './kafka-client.ts';
import { KafkaHealth, watchConsumer } from './kafka-health.ts';
import { KafkaPublisher } from './kafka-publisher.ts';
import {
  HEADERS,
  headerText,
  type ParkedMessage,
  parseEnvelope,
  toDeadLetterMessage,
  toKafkaMessage,
} from './kafka-messages.ts';
import { type EnsureTopicsOptions, ensureTopics } from './kafka-topics.ts';
import { KafkaUnavailable } from './kafka-unavailable.ts';

export interface KafkaConsumerSettings {
  /** At least the broker's group.min.session.timeout.ms (6 s by default). */
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout: number;
  /** How long an idle fetch waits on the broker; also bounds how long stop() waits for a fetch. */
  maxWaitTimeInMs: number;
  /** Partitions handled at once per consumer; one partition's events are always handled one by one. */
  partitionsConsumedConcurrently: number;
}

export const defaultConsumerSettings: KafkaConsumerSettings = {
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  rebalanceTimeout: 60_000,
  maxWaitTimeInMs: 1_000,
  partitionsConsumedConcurrently: 3,
};

export interface KafkaEventBusOptions extends KafkaConnectionOptions {
  /** How a failing handler is retried before its event is parked on `<topic>.dlq`. */
  retry?: RetryPolicy;
  /**
   * When given, start() first creates or verifies these topics (each with its dead-letter topic) and fails
   * on a shortfall. Without it the topics must already exist (`hexashop kafka topics`).
   */
  topics?: EnsureTopicsOptions;
  consumer?: Partial<KafkaConsumerSettings>;
  /** Told of every event parked (for metrics). */
  onDeadLetter?: (topic: string, group: string) => void;
}

/**
 * Offsets are committed by kafkajs (autoCommit), which only ever commits offsets it resolved, and it
 * resolves one after `eachMessage` returned, i.e. after the handler succeeded or the event was parked.
 * It commits at the end of every fetched batch, before a rebalance and on stop; the interval and threshold
 * also commit inside a long batch (catching up on a backlog), so a crash re-delivers at most ~100 events
 * or ~1 s of work. A synchronous commit per event would cost a broker round-trip per event for no gain in
 * safety: delivery is at least once either way, and every consumer is idempotent (the inbox).
 */
const COMMITS = { autoCommit: true, autoCommitInterval: 1_000, autoCommitThreshold: 100 } as const;

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The event bus on Kafka. `publish` resolves once the broker acknowledged every event (idempotent producer,
 * acks from all in-sync replicas), key = aggregate id so one aggregate's events share a partition and keep
 * their order. Each consumer group is one kafkajs consumer reading its topics from the beginning (a new
 * group misses nothing); a failing handler is retried with back-off (heartbeating, so the group does not
 * evict a member that is busy retrying); after the last attempt, or at once for a message that is not an
 * envelope at all, the original message goes to `<topic>.dlq` with headers naming the group, the error and
 * where it came from, and the partition moves on.
 */
export class KafkaEventBus implements EventBus {
  readonly #kafka: Kafka;
  readonly #brokers: string[];
  readonly #logger: Logger;
  readonly #policy: RetryPolicy;
  readonly #topics: EnsureTopicsOptions | undefined;
  readonly #settings: KafkaConsumerSettings;
  readonly #onDeadLetter: ((topic: string, group: string) => void) | undefined;
  readonly #health: KafkaHealth;
  /** Subscriptions by consumer group: one kafkajs consumer per group, whatever its topics. */
  readonly #groups = new Map<string, Subscription[]>();
  readonly #consumers: Consumer[] = [];
  readonly #publisher: KafkaPublisher;
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: KafkaEventBusOptions) {
    this.#kafka = createKafkaClient(options);
    this.#brokers = options.brokers;
    this.#logger = options.logger;
    this.#policy = options.retry ?? defaultRetryPolicy;
    this.#topics = options.topics;
    this.#settings = { ...defaultConsumerSettings, ...options.consumer };
    this.#onDeadLetter = options.onDeadLetter;
    this.#health = new KafkaHealth(options.logger);
    this.#publisher = new KafkaPublisher(this.#kafka, this.#health, options.logger);
  }

  subscribe(subscription: Subscription): void {
    if (this.#state !== 'new') throw subscribedAfterStart(subscription);
    const list = this.#groups.get(subscription.group) ?? [];
    if (list.some((s) => s.topic === subscription.topic)) {
      throw new Error(`group ${subscription.group} already subscribed to ${subscription.topic}`);
    }
    this.#groups.set(subscription.group, [...list, subscription]);
  }

  async publish(topic: string, events: readonly EventEnvelope[]): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') throw new Error('event bus is stopped');
    if (events.length === 0) return;
    await this.#publisher.send(topic, events.map(toKafkaMessage));
  }

  start(): Promise<void> {
    if (this.#stopping) return Promise.reject(new Error('a stopped KafkaEventBus cannot start again'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** Stops fetching, lets the handlers in hand finish, commits, leaves the groups, then closes the producer. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  problem(): string | null {
    if (this.#state === 'new' || this.#state === 'starting') return 'kafka event bus not started';
    if (this.#state !== 'running') return 'kafka event bus stopped';
    return this.#health.problem();
  }

  /**
   * Each group's lag from the broker: per partition, the newest offset beyond the group's committed one
   * (a group that never committed counts from the partition's oldest). One admin connection, opened for
   * the call; a broker that cannot be asked yields nothing rather than a guess.
   */
  async lag(): Promise<ConsumerLag[]> {
    const admin = this.#kafka.admin();
    try {
      await admin.connect();
      const topics = [...new Set([...this.#groups.values()].flatMap((subs) => subs.map((s) => s.topic)))];
      const ends = new Map(await Promise.all(topics.map(async (t) => [t, await admin.fetchTopicOffsets(t)] as const)));
      const lags: ConsumerLag[] = [];
      for (const [group, subscriptions] of this.#groups) {
        const committed = await admin.fetchOffsets({ groupId: group, topics: subscriptions.map((s) => s.topic) });
        for (const { topic, partitions } of committed) {
          for (const { partition, offset } of partitions) {
            const end = ends.get(topic)?.find((p) => p.partition === partition);
            if (!end) continue;
            const from = Number(offset) >= 0 ? Number(offset) : Number(end.low);
            lags.push({ group, topic, partition, messages: Math.max(0, Number(end.high) - from) });
          }
        }
      }
      return lags;
    } catch (error) {
      this.#logger.debug('consumer lag not read', { error: String(error) });
      return [];
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    if (this.#topics) {
      const report = await ensureTopics(this.#brokers, this.#logger, this.#topics);
      if (report.errors.length > 0) throw new KafkaUnavailable('topics', this.#brokers, report.errors.join('; '));
    }
    await this.#publisher.connect();
    await Promise.all([...this.#groups].map(([group, subscriptions]) => this.#startConsumer(group, subscriptions)));
    if (this.#state === 'starting') this.#state = 'running';
  }

  async #startConsumer(group: string, subscriptions: Subscription[]): Promise<void> {
    const { partitionsConsumedConcurrently, ...tuning } = this.#settings;
    const consumer = this.#kafka.consumer({ groupId: group, allowAutoTopicCreation: false, ...tuning });
    watchConsumer(consumer, `kafka consumer ${group}`, this.#health, () => this.#stopping !== undefined);
    this.#consumers.push(consumer);
    const handlers = new Map(subscriptions.map((s) => [s.topic, s.handler]));
    await consumer.connect();
    const fromBeginning = subscriptions.every((s) => s.startAt !== 'latest');
    await consumer.subscribe({ topics: [...handlers.keys()], fromBeginning });
    // run() resolves once the consumer has joined its group. A group that reads from its committed offsets
    // misses nothing by joining later, so the role does not wait: after a crash that join waits for the dead
    // member's session to expire (--kafka-session-timeout-ms, 30 s by default), and the role can serve
    // meanwhile. A group that starts at the latest offset (a per-instance cache group, always new) has
    // joined before the role says it is ready, so no change published in between is missed.
    const running = consumer.run({
      ...COMMITS,
      partitionsConsumedConcurrently,
      eachMessage: (payload) => this.#consume(group, handlers.get(payload.topic)!, payload),
    });
    if (!fromBeginning) return running;
    void running.catch((error: unknown) =>
      this.#logger.error('kafka consumer did not start', {
        code: 'KAFKA_CONSUMER_START_FAILED',
        group,
        error: String(error),
      }),
    );
  }

  /** Resolves once the event was handled or parked; throws (so nothing is committed) only if parking failed. */
  #consume(
    group: string,
    handler: EventHandler,
    { topic, partition, message, heartbeat }: EachMessagePayload,
  ): Promise<void> {
    const parked = { topic, partition, message, group };
    let event: EventEnvelope;
    try {
      event = parseEnvelope(message.value);
    } catch (error) {
      return this.#park({ ...parked, error, attempts: 0 });
    }
    const traceparent = headerText(message.headers, HEADERS.traceparent);
    return inEventScope(event, { system: 'kafka', topic, group, traceparent }, () =>
      handleWithRetries({
        event,
        where: { topic, group },
        policy: this.#policy,
        logger: this.#logger,
        attempt: () => handler(structuredClone(event)),
        park: (error, attempts) => this.#park({ ...parked, error, attempts }),
        backOff: (ms) => this.#backOff(ms, heartbeat),
      }),
    );
  }

  /** Sleeps between attempts, heartbeating meanwhile; a rebalance surfaces here and hands the event back to kafkajs. */
  async #backOff(ms: number, heartbeat: () => Promise<void>): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      await sleep(Math.min(left, this.#settings.heartbeatInterval));
      await heartbeat();
    }
  }

  async #park(parked: ParkedMessage): Promise<void> {
    const target = deadLetterTopic(parked.topic);
    await this.#publisher.send(target, [toDeadLetterMessage(parked)]);
    this.#onDeadLetter?.(parked.topic, parked.group);
    this.#logger.error('event parked on dead-letter topic', {
      code: 'EVENT_PARKED',
      topic: parked.topic,
      deadLetterTopic: target,
      group: parked.group,
      partition: parked.partition,
      offset: parked.message.offset,
      eventId: headerText(parked.message.headers, HEADERS.id),
      type: headerText(parked.message.headers, HEADERS.type),
      attempts: parked.attempts,
      error: String(parked.error),
    });
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    await this.#starting?.catch(() => {});
    // A kafkajs consumer's disconnect stops fetching, waits for the batches in hand (handlers, their
    // retries and any parking), commits what they resolved, leaves the group, and closes its connections.
    const stopped = await Promise.allSettled(this.#consumers.map((c) => c.disconnect()));
    for (const result of stopped) {
      if (result.status === 'rejected') {
        this.#logger.error('kafka consumer did not stop cleanly', {
          code: 'KAFKA_CONSUMER_STOP_FAILED',
          error: String(result.reason),
        });
      }
    }
    // Only now the producer: parking an event during the drain above still needed it.
    await this.#publisher.close();
    this.#state = 'stopped';
  }
}
