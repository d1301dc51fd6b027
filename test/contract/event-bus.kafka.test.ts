import { randomUUID } from 'node:crypto';
import { KafkaEventBus } from '../../src/adapters/messaging/kafka/kafka-event-bus.ts';
import { NamespacedEventBus } from '../../src/adapters/messaging/namespaced-event-bus.ts';
import { HEADERS, headerText } from '../../src/adapters/messaging/kafka/kafka-messages.ts';
import { ensureTopics } from '../../src/adapters/messaging/kafka/kafka-topics.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { deadLetterTopic } from '../../src/shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';
import { deleteNamespace, fastConsumers, fastRetries, readTopic } from '../support/kafka.ts';
import { integrationServices } from '../support/services.ts';
import { type BusUnderTest, describeEventBusContract, type ParkedEvent } from './event-bus.contract.ts';

/**
 * Every test gets its own namespace (as `--kafka-namespace` does): its own topic on the broker
 * (`contract-<uuid>.contract-events`, 6 partitions, plus its dead-letter topic) and its own consumer
 * groups, all deleted afterwards, so nothing leaks between tests or runs.
 */
describeEventBusContract('kafka', async () => {
  const { kafkaBrokers: brokers } = await integrationServices();
  const namespace = `contract-${randomUUID()}.`;
  try {
    await ensureTopics(brokers, silentLogger, { topics: [TOPIC], namespace, partitions: 6, replicationFactor: 1 });
  } catch (error) {
    await deleteNamespace(brokers, namespace);
    throw error;
  }
  return onBroker(brokers, namespace);
});

const TOPIC = 'contract-events';

/** A bus on the namespace; another one on the same namespace is that bus restarted. */
function onBroker(brokers: string[], namespace: string): BusUnderTest {
  const kafka = new KafkaEventBus({
    brokers,
    clientId: 'contract-test',
    logger: silentLogger,
    retry: fastRetries,
    consumer: fastConsumers,
  });
  const bus = new NamespacedEventBus(kafka, namespace);
  // Names on the broker carry the namespace; the contract speaks the caller's names.
  const local = (name = '') => (name.startsWith(namespace) ? name.slice(namespace.length) : name);
  return {
    bus,
    topic: TOPIC,
    deadLetters: async (topic, group): Promise<ParkedEvent[]> => {
      const messages = await readTopic(brokers, namespace + deadLetterTopic(topic));
      return messages
        .filter((m) => headerText(m.headers, HEADERS.deadLetterGroup) === namespace + group)
        .map((m) => ({
          topic: local(headerText(m.headers, HEADERS.originalTopic)),
          group: local(headerText(m.headers, HEADERS.deadLetterGroup)),
          reason: headerText(m.headers, HEADERS.deadLetterError) ?? '',
          event: JSON.parse(m.value!.toString()) as EventEnvelope,
        }));
    },
    reopen: async () => {
      await bus.stop();
      return onBroker(brokers, namespace);
    },
    dispose: async () => {
      await bus.stop();
      await deleteNamespace(brokers, namespace);
    },
  };
}
