import { randomUUID } from 'node:crypto';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import type { KafkaConsumerSettings } from '../../src/adapters/messaging/kafka/kafka-event-bus.ts';

/**
 * Consumer timings for tests: the smallest session the broker accepts (group.min.session.timeout.ms),
 * frequent heartbeats, and short idle fetches so stop() returns quickly.
 */
export const fastConsumers: Partial<KafkaConsumerSettings> = {
  sessionTimeout: 6_000,
  heartbeatInterval: 500,
  rebalanceTimeout: 6_000,
  maxWaitTimeInMs: 100,
};

export const fastRetries = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 };

export function testKafka(brokers: string[]): Kafka {
  return new Kafka({ brokers, clientId: 'hexashop-test', logLevel: logLevel.NOTHING });
}

/** Deletes every topic and consumer group whose name starts with the namespace (a test's prefix). */
export async function deleteNamespace(brokers: string[], namespace: string): Promise<void> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(namespace));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(namespace));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

export type ReadMessage = KafkaMessage & { partition: number };

/**
 * Everything on a topic now, read with a fresh consumer group (then deleted) from the beginning up to
 * each partition's high watermark at the time of the call. Empty topics cost no group join.
 */
export async function readTopic(brokers: string[], topic: string, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const kafka = testKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await retrying(() => admin.fetchTopicOffsets(topic));
    const pending = new Map(
      offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]),
    );
    if (pending.size === 0) return [];
    const groupId = `reader-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, ...fastConsumers });
    const messages: ReadMessage[] = [];
    let done!: () => void;
    const complete = new Promise<void>((resolve) => (done = resolve));
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const high = pending.get(partition);
          if (high === undefined) return;
          messages.push({ ...message, partition });
          if (BigInt(message.offset) + 1n >= high) pending.delete(partition);
          if (pending.size === 0) done();
        },
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        complete,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out reading ${topic}`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => {});
    }
    return messages;
  } finally {
    await admin.disconnect();
  }
}

/** A topic created a moment ago may not have its leader in place yet: the admin API does not retry that. */
async function retrying<T>(action: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
