/**
 * Why the Kafka topics could not be created or verified at start-up: no broker answered, or the topics are
 * not as required (or could not be created). The composition root words the fix.
 */
export type KafkaUnavailableReason = 'unreachable' | 'topics';

export class KafkaUnavailable extends Error {
  readonly reason: KafkaUnavailableReason;
  readonly brokers: readonly string[];

  constructor(reason: KafkaUnavailableReason, brokers: readonly string[], detail: string) {
    const where = brokers.join(',');
    super(
      reason === 'unreachable'
        ? `cannot reach Kafka at ${where}: ${detail}`
        : `Kafka topics at ${where} are not as required: ${detail}`,
    );
    this.name = 'KafkaUnavailable';
    this.reason = reason;
    this.brokers = brokers;
  }
}

const SOCKET_PROBLEMS = new Map<unknown, string>([
  ['ECONNREFUSED', 'connection refused'],
  ['ETIMEDOUT', 'timed out'],
  ['ENOTFOUND', 'host not found'],
  ['EAI_AGAIN', 'host not found'],
]);

/** kafkajs's error after its connection retries ran out: the socket's reason when it has one. */
export function brokerUnreachable(error: unknown, brokers: readonly string[]): KafkaUnavailable {
  const e = error as { message?: unknown; cause?: { code?: unknown } };
  const detail = SOCKET_PROBLEMS.get(e.cause?.code) ?? String(e.message ?? error);
  return new KafkaUnavailable('unreachable', brokers, detail);
}
