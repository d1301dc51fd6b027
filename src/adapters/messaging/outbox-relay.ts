import type { Logger } from '../../shared/logger.port.ts';
import type { EventBus } from '../../shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../shared/messaging/event-envelope.ts';
import { sleep } from './retry-policy.ts';

export interface OutboxRecord {
  seq: number;
  topic: string;
  event: EventEnvelope;
}

/** Publishes claimed records; resolves to the seqs that went out (the rest stay pending). */
export type PublishClaimed = (records: readonly OutboxRecord[]) => Promise<readonly number[]>;

/**
 * The relay's side of a database's outbox table. Several relays (one per process) may share a
 * database; the store keeps one relay lease per database so that they never hand out the same rows.
 */
export interface OutboxStore {
  /**
   * Takes the relay lease, hands the oldest unpublished records (commit order, at most `limit`) to
   * `publish`, marks published exactly the claimed seqs it resolves to, then releases the lease.
   * While another relay holds the lease this resolves 0 at once without calling `publish`; if
   * `publish` throws, nothing is marked. Resolves to the number of records handed to `publish`.
   */
  withClaim(limit: number, publish: PublishClaimed): Promise<number>;
  /** Gives up the lease if the store keeps it between claims; the relay calls it when it stops. */
  release(): Promise<void>;
}

/** Told what the relay did, for metrics; the relay itself knows no metrics library. */
export interface RelayObserver {
  /** Events the bus took (and that were then marked published). */
  published(count: number): void;
  /** A batch failed (the bus refused it or the store could not be read); it is retried after a back-off. */
  failed(): void;
}

export interface RelayOptions {
  batchSize: number;
  /** How often to look when nobody nudged (another process may have written). */
  pollIntervalMs: number;
  /** Back-off after the bus refused a batch. */
  errorBackoffMs: number;
  /**
   * After a batch that was not full, how long to let the next one gather before claiming it. Under load a
   * claim per event would cost its bookkeeping (a read, a marking write) per event; a few ms of linger make
   * it per batch. A full batch means a backlog: the next one is claimed at once. The first event after an
   * idle spell goes out at once (the nudge wakes the relay).
   */
  lingerMs: number;
  observer?: RelayObserver;
}

export const defaultRelayOptions: RelayOptions = {
  batchSize: 200,
  pollIntervalMs: 250,
  errorBackoffMs: 1_000,
  lingerMs: 5,
};

/**
 * Moves committed outbox rows onto the event bus: at least once, in order per aggregate. Rows are marked
 * published only after the bus has taken them, so a crash at any point means a re-send, never a loss.
 */
export class OutboxRelay {
  readonly #store: OutboxStore;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #options: RelayOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lastError: string | null = null;
  /** Failed batches in a row: each is one warning with its attempt number, not an error per retry. */
  #failures = 0;
  #previousBatch: Promise<unknown> = Promise.resolve();

  constructor(store: OutboxStore, bus: EventBus, logger: Logger, options: RelayOptions = defaultRelayOptions) {
    this.#store = store;
    this.#bus = bus;
    this.#logger = logger;
    this.#options = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Called after a commit that wrote outbox rows, so they go out now rather than at the next poll. */
  nudge(): void {
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.nudge();
    await this.#loop;
    await this.#previousBatch;
    await this.#store.release();
  }

  problem(): string | null {
    return this.#lastError;
  }

  /**
   * Publishes everything pending now; for tests and for draining on shutdown. Waits for a batch this
   * relay has in flight; stops early only while another process's relay holds the lease (it publishes).
   */
  async drain(): Promise<void> {
    let sent: number;
    do sent = await this.#relayBatch();
    while (sent > 0);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        const sent = await this.#relayBatch();
        this.#lastError = null;
        this.#failures = 0;
        if (sent === 0) await this.#idle(this.#options.pollIntervalMs);
        else if (sent < this.#options.batchSize) await sleep(this.#options.lingerMs);
      } catch (error) {
        this.#options.observer?.failed();
        this.#lastError = `outbox relay: ${String(error)}`;
        this.#failures += 1;
        this.#logger.warn('outbox relay failed; retrying', {
          code: 'RELAY_PUBLISH_FAILED',
          attempt: this.#failures,
          retryInMs: this.#options.errorBackoffMs,
          error: String(error),
        });
        await this.#idle(this.#options.errorBackoffMs);
      }
    }
  }

  /** One batch at a time per relay, so drain() and the loop take turns instead of finding the lease taken. */
  #relayBatch(): Promise<number> {
    const batch = this.#previousBatch.then(() => this.#claimAndPublish());
    this.#previousBatch = batch.catch(() => undefined);
    return batch;
  }

  /**
   * One claim: each topic's records go out in one publish (in commit order, so every partition's events
   * keep theirs; a Kafka producer sends one request per broker for all of them), topics in parallel.
   * Only the records of topics the bus took are marked.
   */
  async #claimAndPublish(): Promise<number> {
    let failure: { reason: unknown } | undefined;
    let published = 0;
    const sent = await this.#store.withClaim(this.#options.batchSize, async (records) => {
      const byTopic = new Map<string, OutboxRecord[]>();
      for (const record of records) {
        const batch = byTopic.get(record.topic);
        if (batch) batch.push(record);
        else byTopic.set(record.topic, [record]);
      }
      const results = await Promise.allSettled(
        [...byTopic].map(async ([topic, batch]) => {
          await this.#bus.publish(
            topic,
            batch.map((r) => r.event),
          );
          return batch.map((r) => r.seq);
        }),
      );
      const rejected = results.find((r) => r.status === 'rejected');
      if (rejected) failure = { reason: rejected.reason };
      const done = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      published = done.length;
      return done;
    });
    if (published > 0) this.#options.observer?.published(published);
    if (failure) throw failure.reason;
    return sent;
  }

  #idle(ms: number): Promise<void> {
    return Promise.race([
      sleep(ms),
      new Promise<void>((resolve) => {
        this.#wake = resolve;
      }),
    ]).finally(() => {
      this.#wake = undefined;
    });
  }
}
