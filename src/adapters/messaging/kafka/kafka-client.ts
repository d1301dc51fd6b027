import {
  type Admin,
  type AdminConfig,
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
  type logCreator,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import type { Logger } from '../../../shared/logger.port.ts';

export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Told of every producer, consumer and admin client made on this connection, before it connects (metrics). */
  instrument?: KafkaInstrumentation;
}

/** Watches the clients a connection makes (their instrumentation events): see kafka-client-metrics.ts. */
export interface KafkaInstrumentation {
  producer(producer: Producer): void;
  consumer(consumer: Consumer, groupId: string): void;
  admin(admin: Admin): void;
}

/**
 * kafkajs warns about this whenever an idempotent producer is created with bounded retries. We bound
 * them on purpose (a dead broker must fail `publish` so the outbox relay reports it) and replace the
 * producer after a failed send, so its sequence numbers never outlive the failure: not worth a warning.
 */
const EXPECTED_WARNINGS = [/Limiting retries for the idempotent producer/];

/** kafkajs writes through our Logger, warnings and errors only (its info level is chatty). */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const meta: Record<string, unknown> = { kafka: namespace };
      for (const [key, value] of Object.entries(extra)) meta[key] = value instanceof Error ? String(value) : value;
      // kafkajs' own fields may include a `code` of its own; ours says which of its levels wrote the line.
      if (level === logLevel.ERROR) logger.error(`kafka: ${message}`, { ...meta, code: 'KAFKA_CLIENT_ERROR' });
      else if (level !== logLevel.WARN) return;
      else if (EXPECTED_WARNINGS.some((w) => w.test(message))) logger.debug(`kafka: ${message}`, meta);
      else logger.warn(`kafka: ${message}`, { ...meta, code: 'KAFKA_CLIENT_WARNING' });
    };
}

export function createKafkaClient({ brokers, clientId, logger, instrument }: KafkaConnectionOptions): Kafka {
  const config = { brokers, clientId, logLevel: logLevel.WARN, logCreator: kafkaLogCreator(logger) };
  return instrument ? new InstrumentedKafka(config, instrument) : new Kafka(config);
}

/** A Kafka connection that hands each client it makes to the instrumentation, so the bus needs no hooks of its own. */
class InstrumentedKafka extends Kafka {
  readonly #instrument: KafkaInstrumentation;

  constructor(config: KafkaConfig, instrument: KafkaInstrumentation) {
    super(config);
    this.#instrument = instrument;
  }

  override producer(config?: ProducerConfig): Producer {
    const producer = super.producer(config);
    this.#instrument.producer(producer);
    return producer;
  }

  override consumer(config: ConsumerConfig): Consumer {
    const consumer = super.consumer(config);
    this.#instrument.consumer(consumer, config.groupId);
    return consumer;
  }

  override admin(config?: AdminConfig): Admin {
    const admin = super.admin(config);
    this.#instrument.admin(admin);
    return admin;
  }
}
