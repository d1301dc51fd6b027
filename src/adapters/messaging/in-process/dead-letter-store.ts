import { newId } from '../../../shared/id.ts';
import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';

/** An event a consumer group gave up on: what Kafka keeps on `<topic>.dlq`, as one record. */
export interface DeadLetter {
  /** The topic the event was published on; it is parked on `deadLetterTopic(topic)`. */
  topic: string;
  /** The consumer group whose handler kept failing. */
  group: string;
  /** The last error, as text (no stack). */
  error: string;
  /** The last error's stable code, when it had one (else EVENT_HANDLER_FAILED). */
  code?: string;
  attempts: number;
  /** ISO 8601. */
  parkedAt: string;
  event: EventEnvelope;
}

/** What an operator did with a letter: nothing yet, handed back to its group, or set aside (kept for audit). */
export type DeadLetterState = 'parked' | 'replayed' | 'discarded';

/** A letter as kept: its id (a UUID, unique across stores) and what became of it. */
export interface StoredDeadLetter extends DeadLetter {
  id: string;
  state: DeadLetterState;
  /** ISO 8601, when it was replayed or discarded; null while parked. */
  settledAt: string | null;
}

export interface DeadLetterFilter {
  topic?: string;
  group?: string;
  state?: DeadLetterState;
  /** At most this many, oldest first. */
  limit?: number;
}

/** Where the in-process bus parks events; `append` resolves once the letter is kept for good. */
export interface DeadLetterLog {
  append(letter: DeadLetter): Promise<void>;
  /** Every letter kept so far, oldest first. */
  read(): Promise<DeadLetter[]>;
}

/**
 * The dead letters of a process, and what operators do with them (`hexashop dlq`). `settle` moves a parked
 * letter to replayed or discarded once: it resolves false when the letter was settled already (or is not
 * here), so a replay or discard run twice does nothing the second time.
 */
export interface DeadLetterStore extends DeadLetterLog {
  list(filter?: DeadLetterFilter): Promise<StoredDeadLetter[]>;
  get(id: string): Promise<StoredDeadLetter | undefined>;
  settle(id: string, state: Exclude<DeadLetterState, 'parked'>, at: Date): Promise<boolean>;
}

/** Applies a filter to letters already in memory, oldest first (what every store's `list` means). */
export function filterLetters(letters: StoredDeadLetter[], filter: DeadLetterFilter = {}): StoredDeadLetter[] {
  const kept = letters.filter(
    (l) =>
      (filter.topic === undefined || l.topic === filter.topic) &&
      (filter.group === undefined || l.group === filter.group) &&
      (filter.state === undefined || l.state === filter.state),
  );
  return filter.limit === undefined ? kept : kept.slice(0, filter.limit);
}

/** Lost at exit: for tests and for processes whose events need no parking that outlives them. */
export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly #letters: StoredDeadLetter[] = [];

  async append(letter: DeadLetter): Promise<void> {
    this.#letters.push({ ...structuredClone(letter), id: newId(), state: 'parked', settledAt: null });
  }

  async read(): Promise<DeadLetter[]> {
    return this.#letters.map(({ id: _id, state: _state, settledAt: _at, ...letter }) => structuredClone(letter));
  }

  async list(filter?: DeadLetterFilter): Promise<StoredDeadLetter[]> {
    const oldestFirst = [...this.#letters].sort(
      (a, b) => a.parkedAt.localeCompare(b.parkedAt) || a.id.localeCompare(b.id),
    );
    return structuredClone(filterLetters(oldestFirst, filter));
  }

  async get(id: string): Promise<StoredDeadLetter | undefined> {
    return structuredClone(this.#letters.find((l) => l.id === id));
  }

  async settle(id: string, state: Exclude<DeadLetterState, 'parked'>, at: Date): Promise<boolean> {
    const letter = this.#letters.find((l) => l.id === id);
    if (!letter || letter.state !== 'parked') return false;
    letter.state = state;
    letter.settledAt = at.toISOString();
    return true;
  }
}
