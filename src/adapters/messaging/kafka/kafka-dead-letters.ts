/**
 * The dead letters on Kafka, for `hexashop dlq`: what the bus parked on `<topic>.dlq`, read (never consumed:
 * no group commits anything there), handed back, or set aside. What an operator did with a letter is kept
 * on a compacted topic, `<namespace>dead-letter-markers` (key: the letter's id; value: `replayed` or
 * `discarded` and when), because the dead-letter topic itself is an append-only log: a letter stays on it
 * until retention removes it, and its marker says it is settled.
 *
 * Replay produces the original message (key = aggregate id, value and `id`/`type`/`traceparent` headers as
 * published) back onto the original topic, with `x-replay-of` (the letter's id) and `x-replay-group` (the
 * group that gave up) added. Every consumer group of that topic sees it again, not only the one that parked
 * it: that is safe because every consumer is idempotent by event id (its inbox), so a group that handled the
 * event the first time records nothing new; it is simpler and keeps per-key order, where delivering to one
 * group alone would need a side channel each consumer reads. The marker is written after the send: a crash
 * in between replays once more, harmlessly.
 */
import { randomUUID } from 'node:crypto';
import { type IHeaders, type Kafka, type KafkaMessage, Partitioners } from 'kafkajs';
import type { Logger } from '../../../shared/logger.port.ts';
import { deadLetterTopic } from '../../../shared/messaging/event-bus.port.ts';
import { TOPICS } from '../../../shared/messaging/event-envelope.ts';
import { createKafkaClient } from './kafka-client.ts';
import { HEADERS, headerText } from './kafka-messages.ts';

export const REPLAY_HEADERS = { of: 'x-replay-of', group: 'x-replay-group' } as const;
const MARKERS_TOPIC = 'dead-letter-markers';

export interface KafkaDeadLetter {
  /** `<dead-letter topic>:<partition>:<offset>`, without the namespace. */
  id: string;
  /** The original topic and the group that gave up, on the broker (namespaced). */
  topic: string;
  group: string;
  error: string;
  code: string | undefined;
  attempts: number;
  /** ISO 8601: when it was parked (the dead-letter message's timestamp). */
  parkedAt: string;
  eventId: string | undefined;
  eventType: string | undefined;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  state: 'parked' | 'replayed' | 'discarded';
  settledAt: string | null;
}

interface Marker {
  state: 'replayed' | 'discarded';
  at: string;
}

export interface KafkaDeadLettersOptions {
  brokers: string[];
  namespace: string;
  logger: Logger;
  /** The event topics whose dead-letter topics are read; default: the contract's. */
  topics?: readonly string[];
}

export class KafkaDeadLetters {
  readonly #kafka: Kafka;
  readonly #namespace: string;
  readonly #topics: readonly string[];

  constructor({ brokers, namespace, logger, topics = Object.values(TOPICS) }: KafkaDeadLettersOptions) {
    this.#kafka = createKafkaClient({ brokers, clientId: 'hexashop-dlq', logger });
    this.#namespace = namespace;
    this.#topics = topics;
  }

  get #markersTopic(): string {
    return this.#namespace + MARKERS_TOPIC;
  }

  /** Every letter on the dead-letter topics now, oldest first per partition, with its marker's state. */
  async read(): Promise<KafkaDeadLetter[]> {
    const dlqs = this.#topics.map((t) => this.#namespace + deadLetterTopic(t));
    const read = await readToEnd(this.#kafka, [...dlqs, this.#markersTopic]);
    const markers = new Map<string, Marker>();
    for (const { message } of read.filter((r) => r.topic === this.#markersTopic)) {
      if (message.key && message.value) markers.set(message.key.toString(), JSON.parse(message.value.toString()));
    }
    return read
      .filter((r) => r.topic !== this.#markersTopic)
      .map(({ topic, partition, message }) => this.#letter(topic, partition, message, markers))
      .sort((a, b) => a.parkedAt.localeCompare(b.parkedAt) || a.id.localeCompare(b.id));
  }

  /** Produces the event back onto its topic (see the file's header), then marks the letter replayed. */
  async replay(letter: KafkaDeadLetter): Promise<void> {
    const headers: IHeaders = {};
    for (const name of [HEADERS.id, HEADERS.type, HEADERS.traceparent]) {
      const value = letter.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    headers[REPLAY_HEADERS.of] = letter.id;
    headers[REPLAY_HEADERS.group] = letter.group;
    await this.#send(letter.topic, { key: letter.key, value: letter.value, headers });
    await this.#mark(letter.id, 'replayed');
  }

  async discard(letter: KafkaDeadLetter): Promise<void> {
    await this.#mark(letter.id, 'discarded');
  }

  async #mark(id: string, state: Marker['state']): Promise<void> {
    await this.#ensureMarkersTopic();
    const marker: Marker = { state, at: new Date().toISOString() };
    await this.#send(this.#markersTopic, { key: id, value: JSON.stringify(marker) });
  }

  async #send(
    topic: string,
    message: { key: Buffer | string | null; value: Buffer | string | null; headers?: IHeaders },
  ) {
    const producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: [message] });
    } finally {
      await producer.disconnect();
    }
  }

  async #ensureMarkersTopic(): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      if ((await admin.listTopics()).includes(this.#markersTopic)) return;
      await admin
        .createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic: this.#markersTopic,
              numPartitions: 1,
              replicationFactor: 1,
              configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
            },
          ],
        })
        .catch((error: unknown) => {
          // Another operator created it meanwhile: fine.
          if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
        });
    } finally {
      await admin.disconnect();
    }
  }

  #letter(dlq: string, partition: number, message: KafkaMessage, markers: Map<string, Marker>): KafkaDeadLetter {
    const strip = (name: string) => (name.startsWith(this.#namespace) ? name.slice(this.#namespace.length) : name);
    const id = `${strip(dlq)}:${partition}:${message.offset}`;
    const marker = markers.get(id);
    const text = (name: string) => headerText(message.headers, name);
    return {
      id,
      topic: text(HEADERS.originalTopic) ?? dlq.replace(/\.dlq$/, ''),
      group: text(HEADERS.deadLetterGroup) ?? '',
      error: text(HEADERS.deadLetterError) ?? '',
      code: text(HEADERS.deadLetterCode),
      attempts: Number(text(HEADERS.deadLetterAttempts) ?? 0),
      parkedAt: new Date(Number(message.timestamp)).toISOString(),
      eventId: text(HEADERS.id),
      eventType: text(HEADERS.type),
      key: message.key,
      value: message.value,
      headers: message.headers ?? {},
      state: marker?.state ?? 'parked',
      settledAt: marker?.at ?? null,
    };
  }
}

interface ReadMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * Everything on `topics` up to each partition's high watermark at the time of the call, with a throwaway
 * consumer group that commits nothing (deleted afterwards). Topics that do not exist or are empty cost no
 * group join.
 */
async function readToEnd(kafka: Kafka, topics: string[], timeoutMs = 30_000): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const pending = new Map<string, bigint>();
    for (const topic of topics.filter((t) => existing.has(t))) {
      for (const o of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(o.high) > BigInt(o.low)) pending.set(`${topic}/${o.partition}`, BigInt(o.high));
      }
    }
    if (pending.size === 0) return [];
    const subscribed = [...new Set([...pending.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))))];
    const groupId = `hexashop-dlq-reader-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    const read: ReadMessage[] = [];
    let done!: () => void;
    const complete = new Promise<void>((resolve) => (done = resolve));
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: subscribed, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          const key = `${topic}/${partition}`;
          const high = pending.get(key);
          if (high === undefined) return;
          read.push({ topic, partition, message });
          if (BigInt(message.offset) + 1n >= high) pending.delete(key);
          if (pending.size === 0) done();
        },
      });
      await Promise.race([
        complete,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out reading ${subscribed.join(', ')}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => {});
    }
    return read;
  } finally {
    await admin.disconnect();
  }
}
