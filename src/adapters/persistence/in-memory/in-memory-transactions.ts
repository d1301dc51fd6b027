import type { EventEnvelope } from '../../../shared/messaging/event-envelope.ts';
import type { AppendOptions, Inbox, Outbox } from '../../../shared/messaging/outbox.port.ts';
import type { OutboxRecord, OutboxStore, PublishClaimed } from '../../messaging/outbox-relay.ts';

export interface OutboxState {
  outbox: (OutboxRecord & { published: boolean; availableAt: Date | null })[];
  processed: Set<string>;
  nextSeq: number;
}

export const emptyOutboxState = (): OutboxState => ({ outbox: [], processed: new Set(), nextSeq: 1 });

/**
 * Transactions for the in-memory adapters, with the isolation a database gives: one at a time, each on
 * a copy of the state that replaces the original only when the work succeeds (so a throw rolls back).
 */
export class InMemoryTransactions<S extends OutboxState> {
  #state: S;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #onEventsCommitted: () => void;

  constructor(state: S, onEventsCommitted: () => void = () => {}) {
    this.#state = state;
    this.#onEventsCommitted = onEventsCommitted;
  }

  /** The committed state, for reads outside a transaction. */
  get state(): S {
    return this.#state;
  }

  run<T>(work: (draft: S) => Promise<T>): Promise<T> {
    const result = this.#tail.then(async () => {
      const draft = structuredClone(this.#state);
      const before = draft.outbox.length;
      const value = await work(draft);
      this.#state = draft;
      if (draft.outbox.length > before) this.#onEventsCommitted();
      return value;
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

export class InMemoryOutbox implements Outbox, Inbox {
  readonly #state: OutboxState;

  constructor(state: OutboxState) {
    this.#state = state;
  }

  async append(topic: string, events: readonly EventEnvelope[], options: AppendOptions = {}): Promise<void> {
    for (const event of events) {
      this.#state.outbox.push({
        seq: this.#state.nextSeq++,
        topic,
        event: structuredClone(event),
        published: false,
        availableAt: options.notBefore ?? null,
      });
    }
  }

  async withdrawScheduled(aggregateId: string): Promise<void> {
    this.#state.outbox = this.#state.outbox.filter((r) => !(isScheduled(r) && r.event.aggregateId === aggregateId));
  }

  async releaseScheduled(aggregateId: string): Promise<void> {
    for (const r of this.#state.outbox) if (isScheduled(r) && r.event.aggregateId === aggregateId) r.availableAt = null;
  }

  async markProcessed(consumer: string, eventId: string): Promise<boolean> {
    const key = `${consumer}/${eventId}`;
    if (this.#state.processed.has(key)) return false;
    this.#state.processed.add(key);
    return true;
  }
}

const isScheduled = (r: OutboxState['outbox'][number]) => !r.published && r.availableAt !== null;

/** Which in-memory databases have a relay holding the lease (shared by every store over one of them). */
const leased = new WeakSet<object>();

export class InMemoryOutboxStore implements OutboxStore {
  readonly #transactions: InMemoryTransactions<OutboxState>;

  constructor(transactions: InMemoryTransactions<OutboxState>) {
    this.#transactions = transactions;
  }

  async withClaim(limit: number, publish: PublishClaimed): Promise<number> {
    if (leased.has(this.#transactions)) return 0;
    leased.add(this.#transactions);
    try {
      const now = Date.now();
      const records = this.#transactions.state.outbox
        .filter((r) => !r.published && (r.availableAt === null || r.availableAt.getTime() <= now))
        .slice(0, limit)
        .map(({ seq, topic, event }) => ({ seq, topic, event: structuredClone(event) }));
      if (records.length === 0) return 0;
      const claimed = new Set(records.map((r) => r.seq));
      const done = new Set((await publish(records)).filter((seq) => claimed.has(seq)));
      if (done.size > 0) {
        await this.#transactions.run(async (draft) => {
          for (const record of draft.outbox) if (done.has(record.seq)) record.published = true;
        });
      }
      return records.length;
    } finally {
      leased.delete(this.#transactions);
    }
  }

  async release(): Promise<void> {
    // The lease is held for one claim at a time only.
  }
}
