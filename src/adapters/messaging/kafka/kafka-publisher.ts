import { type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from '../../../shared/logger.port.ts';
import { type KafkaHealth, watchProducer } from './kafka-health.ts';

/**
 * Bounded (~10 s), so a dead broker fails a send and the outbox relay reports it and tries again later,
 * instead of kafkajs retrying forever (its default for idempotent producers).
 */
const PRODUCER_RETRY = { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 };

const NAME = 'kafka producer';

interface Connected {
  client: Producer;
  ready: Promise<void>;
}

/**
 * The bus's one idempotent producer. `send` resolves once every message is acknowledged by all in-sync
 * replicas, and keeps the given order within a partition. After a failed send the producer is replaced:
 * its idempotence sequence numbers must not carry on past a send whose outcome is unknown (a re-send is a
 * duplicate, which at-least-once delivery allows; a stuck or wrongly deduplicated sequence is not).
 */
export class KafkaPublisher {
  readonly #kafka: Kafka;
  readonly #health: KafkaHealth;
  readonly #logger: Logger;
  #current: Connected | undefined;
  /** Producers disconnected on purpose, and the disconnects still under way. */
  readonly #released = new WeakSet<Producer>();
  readonly #releasing = new Set<Promise<void>>();
  #closed = false;

  constructor(kafka: Kafka, health: KafkaHealth, logger: Logger) {
    this.#kafka = kafka;
    this.#health = health;
    this.#logger = logger;
  }

  connect(): Promise<void> {
    return this.#producer().ready;
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    const producer = this.#producer();
    try {
      await producer.ready;
      await producer.client.send({ topic, messages, acks: -1 });
      this.#health.recovered(NAME);
    } catch (error) {
      // The caller gets the error and logs it once (the outbox relay, with its attempt number).
      this.#health.failing(NAME, `${NAME} failed to send to ${topic}: ${(error as Error).message}`);
      this.#replace(producer);
      throw error;
    }
  }

  /** Nothing is buffered (a send resolves on the broker's ack): closing is disconnecting. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#current) this.#replace(this.#current);
    await Promise.all(this.#releasing);
  }

  #producer(): Connected {
    if (this.#current) return this.#current;
    if (this.#closed) throw new Error('event bus is stopped');
    const client = this.#kafka.producer({
      idempotent: true,
      // kafkajs's idempotent producer keeps order with one request in flight per broker.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java's partitioner (murmur2 of the key), so every client puts an aggregate on the same partition.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: PRODUCER_RETRY,
    });
    watchProducer(client, NAME, this.#health, () => this.#released.has(client));
    this.#current = { client, ready: client.connect() };
    return this.#current;
  }

  /** Drops a producer (after a failed send, or on close); the next send connects a new one. */
  #replace(producer: Connected): void {
    if (this.#current !== producer) return;
    this.#current = undefined;
    this.#released.add(producer.client);
    const released = producer.client
      .disconnect()
      .catch((error: unknown) =>
        this.#logger.warn(`${NAME} did not disconnect cleanly`, {
          code: 'KAFKA_PRODUCER_DISCONNECT_FAILED',
          error: String(error),
        }),
      )
      .finally(() => this.#releasing.delete(released));
    this.#releasing.add(released);
  }
}
