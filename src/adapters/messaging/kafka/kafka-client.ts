import { Kafka, logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../../../shared/logger.port.ts';

export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
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
      if (level === logLevel.ERROR) logger.error(`kafka: ${message}`, meta);
      else if (level !== logLevel.WARN) return;
      else if (EXPECTED_WARNINGS.some((w) => w.test(message))) logger.debug(`kafka: ${message}`, meta);
      else logger.warn(`kafka: ${message}`, meta);
    };
}

export function createKafkaClient({ brokers, clientId, logger }: KafkaConnectionOptions): Kafka {
  return new Kafka({ brokers, clientId, logLevel: logLevel.WARN, logCreator: kafkaLogCreator(logger) });
}
