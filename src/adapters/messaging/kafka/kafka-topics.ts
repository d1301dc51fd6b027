import type { Admin } from 'kafkajs';
import type { Logger } from '../../../shared/logger.port.ts';
import { deadLetterTopic } from '../../../shared/messaging/event-bus.port.ts';
import { TOPICS } from '../../../shared/messaging/event-envelope.ts';
import { sleep } from '../retry-policy.ts';
import { createKafkaClient } from './kafka-client.ts';
import { brokerUnreachable } from './kafka-unavailable.ts';

export interface EnsureTopicsOptions {
  partitions: number;
  replicationFactor: number;
  /** The event topics; each one's dead-letter topic comes with it. Default: the contract's topics. */
  topics?: readonly string[];
  /** Prefix of every topic name on the broker (see KafkaEventBusOptions.namespace). */
  namespace?: string;
  clientId?: string;
}

export interface TopicsReport {
  created: string[];
  verified: string[];
  /** One line per topic that exists but falls short; such a topic is reported, never altered. */
  errors: string[];
}

/**
 * Creates the event topics and their dead-letter topics where missing, and checks the ones that exist:
 * fewer partitions than required would break the key → partition spread the contract promises, and
 * adding partitions moves keys between partitions (breaking per-aggregate order), so an operator decides.
 * Safe to run from several processes at once: a topic another process just created is verified.
 */
export async function ensureTopics(
  brokers: string[],
  logger: Logger,
  {
    partitions,
    replicationFactor,
    topics = Object.values(TOPICS),
    namespace = '',
    clientId = 'hexashop-admin',
  }: EnsureTopicsOptions,
): Promise<TopicsReport> {
  const names = [...new Set(topics.flatMap((topic) => [topic, deadLetterTopic(topic)]))].map((t) => namespace + t);
  const admin = createKafkaClient({ brokers, clientId, logger: demoted(logger) }).admin();
  try {
    await admin.connect();
  } catch (error) {
    throw brokerUnreachable(error, brokers);
  }
  try {
    const existing = new Set(await admin.listTopics());
    const missing = names.filter((name) => !existing.has(name));
    if (missing.length > 0) {
      // Leaders are waited for below: kafkajs's own wait gives up on a topic the broker does not know yet.
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })),
      });
    }
    const metadata = await settledMetadata(admin, names);
    const report: TopicsReport = { created: [], verified: [], errors: [] };
    for (const name of names) {
      const found = metadata.topics.find((t) => t.name === name);
      const count = found?.partitions.length ?? 0;
      const replicas = Math.min(...(found?.partitions.map((p) => p.replicas.length) ?? [0]));
      if (count < partitions) {
        report.errors.push(`${name} has ${count} partitions, needs at least ${partitions}`);
      } else if (replicas < replicationFactor) {
        report.errors.push(`${name} has replication factor ${replicas}, needs at least ${replicationFactor}`);
      } else {
        (missing.includes(name) ? report.created : report.verified).push(name);
      }
    }
    logger.info('kafka topics ensured', { ...report });
    return report;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The admin client's failures surface as what ensureTopics throws or reports; kafkajs's own line per
 * connection retry would only repeat that, a dozen times, so it is kept for debugging.
 */
function demoted(logger: Logger): Logger {
  const debug = (message: string, meta?: Record<string, unknown>) => logger.debug(message, meta);
  return { info: (message, meta) => logger.info(message, meta), http: debug, warn: debug, error: debug, debug };
}

/**
 * The topics' metadata once every partition has a leader. A topic just created reaches the broker's
 * metadata a moment later (KRaft), and meanwhile is "unknown": asked again until a deadline.
 */
async function settledMetadata(admin: Admin, topics: string[], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics });
      const leaderless = metadata.topics.some((t) => t.partitions.some((p) => p.leader < 0));
      if (!leaderless || Date.now() > deadline) return metadata;
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw error;
    }
    await sleep(100);
  }
}
