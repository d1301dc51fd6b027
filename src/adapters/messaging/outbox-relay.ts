import type { Logger } from '../../shared/logger.port.ts';
import type { EventBus } from '../../shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../shared/messaging/event-envelope.ts';
import { partitionOf } from './partition.ts';
import { sleep } from './retry-policy.ts';

export interface OutboxRecord {
  seq: number;
  topic: string;
  event: EventEnvelope;
}

/** The relay's side of a database's outbox table. */
export interface OutboxStore {
  /** The oldest unpublished records, in commit order, that no other relay is working on. */
  claim(limit: number): Promise<OutboxRecord[]>;
  markPublished(seqs: readonly number[]): Promise<void>;
}

export interface RelayOptions {
  batchSize: number;
  /** How often to look when nobody nudged (another process may have written). */
  pollIntervalMs: number;
  /** Back-off after the bus refused a batch. */
  errorBackoffMs: number;
}

export const defaultRelayOptions: RelayOptions = { batchSize: 200, pollIntervalMs: 250, errorBackoffMs: 1_000 };

/**
 * Moves committed outbox rows onto the event bus: at least once, in order per aggregate. Rows are marked
 * published only after the bus has taken them, so a crash at any point means a re-send, never a loss.
 * Batches are split by (topic, partition): partitions go out in parallel, each one in commit order.
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
  }

  problem(): string | null {
    return this.#lastError;
  }

  /** Publishes everything pending now; for tests and for draining on shutdown. */
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
        if (sent === 0) await this.#idle(this.#options.pollIntervalMs);
      } catch (error) {
        this.#lastError = `outbox relay: ${String(error)}`;
        this.#logger.error('outbox relay failed; retrying', { error: String(error) });
        await this.#idle(this.#options.errorBackoffMs);
      }
    }
  }

  async #relayBatch(): Promise<number> {
    const records = await this.#store.claim(this.#options.batchSize);
    if (records.length === 0) return 0;
    const lanes = new Map<string, OutboxRecord[]>();
    for (const record of records) {
      const lane = `${record.topic}/${partitionOf(record.event.aggregateId)}`;
      lanes.set(lane, [...(lanes.get(lane) ?? []), record]);
    }
    const results = await Promise.allSettled(
      [...lanes.values()].map(async (lane) => {
        await this.#bus.publish(
          lane[0]!.topic,
          lane.map((r) => r.event),
        );
        await this.#store.markPublished(lane.map((r) => r.seq));
      }),
    );
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    return records.length;
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
