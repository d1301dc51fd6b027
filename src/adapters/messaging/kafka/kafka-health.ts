import type { Consumer, Producer } from 'kafkajs';
import type { CodedMeta, Logger } from '../../../shared/logger.port.ts';

/** What is wrong right now, by component (the producer, each consumer), for `/health/ready`. */
export class KafkaHealth {
  readonly #problems = new Map<string, string>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** A problem, logged once per outage: while the component stays broken, a new report only updates the text. */
  report(component: string, problem: string, meta: CodedMeta): void {
    const known = this.#problems.has(component);
    this.#problems.set(component, problem);
    if (!known) this.#logger.error(problem, { component, ...meta });
  }

  /** A problem whose failure the caller sees (it was thrown to it) and logs: readiness only, no line here. */
  failing(component: string, problem: string): void {
    this.#problems.set(component, problem);
  }

  recovered(component: string): void {
    if (!this.#problems.delete(component)) return;
    this.#logger.info(`${component} recovered`, { component });
  }

  problem(): string | null {
    return this.#problems.size === 0 ? null : [...this.#problems.values()].join('; ');
  }
}

/**
 * A consumer's crash or unplanned disconnect is a problem until it is consuming again. On a retriable
 * crash kafkajs disconnects, emits CRASH with `restart: true` and starts the consumer again after a
 * back-off; joining the group (or fetching) again means it recovered. A crash without restart stays.
 */
export function watchConsumer(consumer: Consumer, name: string, health: KafkaHealth, stopping: () => boolean): void {
  const { CRASH, DISCONNECT, GROUP_JOIN, FETCH_START } = consumer.events;
  consumer.on(CRASH, ({ payload: { error, restart } }) => {
    const next = restart ? 'restarting' : 'not restarting';
    health.report(name, `${name} crashed (${next}): ${error.message}`, {
      code: 'KAFKA_CONSUMER_CRASHED',
      error: String(error),
      restart,
    });
  });
  consumer.on(DISCONNECT, () => {
    if (!stopping()) health.report(name, `${name} disconnected`, { code: 'KAFKA_CONSUMER_DISCONNECTED' });
  });
  consumer.on(GROUP_JOIN, () => health.recovered(name));
  consumer.on(FETCH_START, () => health.recovered(name));
}

/** kafkajs only disconnects a producer when asked: any other disconnect is a problem. */
export function watchProducer(producer: Producer, name: string, health: KafkaHealth, expected: () => boolean): void {
  producer.on(producer.events.DISCONNECT, () => {
    if (!expected()) health.report(name, `${name} disconnected`, { code: 'KAFKA_PRODUCER_DISCONNECTED' });
  });
}
