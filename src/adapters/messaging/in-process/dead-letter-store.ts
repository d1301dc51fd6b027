import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';

/** An event a consumer group gave up on: what Kafka keeps on `<topic>.dlq`, as one record. */
export interface DeadLetter {
  /** The topic the event was published on; it is parked on `deadLetterTopic(topic)`. */
  topic: string;
  /** The consumer group whose handler kept failing. */
  group: string;
  /** The last error, as text (no stack). */
  error: string;
  attempts: number;
  /** ISO 8601. */
  parkedAt: string;
  event: EventEnvelope;
}

/** Where the in-process bus parks events; `append` resolves once the letter is kept for good. */
export interface DeadLetterStore {
  append(letter: DeadLetter): Promise<void>;
  /** Every letter kept so far, oldest first. */
  read(): Promise<DeadLetter[]>;
}

/** Lost at exit: for tests and for processes whose events need no parking that outlives them. */
export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly #letters: DeadLetter[] = [];

  async append(letter: DeadLetter): Promise<void> {
    this.#letters.push(structuredClone(letter));
  }

  async read(): Promise<DeadLetter[]> {
    return structuredClone(this.#letters);
  }
}
