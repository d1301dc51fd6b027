/**
 * The outbox relay at its floor: reads the due rows of one database in commit order, hands each event to
 * the consumer (one aggregate's events in order, different aggregates in parallel), then marks the batch
 * published in one statement. Nudged after each commit that wrote due rows; otherwise it polls, as ours.
 */
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';
import type { RawDatabase } from './raw-db.ts';

const RELAY_SQL = {
  due:
    'select seq, aggregate_id, envelope from outbox where published_at is null and (available_at is null or available_at <= ?) ' +
    'order by seq limit 200',
  markPublished: (n: number) => `update outbox set published_at = ? where seq in (${Array(n).fill('?').join(', ')})`,
};

export class Relay {
  static readonly pollMs = 250;
  readonly #db: RawDatabase;
  readonly #deliver: (event: EventEnvelope) => Promise<void>;
  readonly #loop: Promise<void>;
  #running = true;
  #nudged = false;
  #wake: (() => void) | undefined;
  #failure: unknown;

  constructor(db: RawDatabase, deliver: (event: EventEnvelope) => Promise<void>) {
    this.#db = db;
    this.#deliver = deliver;
    this.#loop = this.#run();
  }

  nudge(): void {
    this.#nudged = true;
    this.#wake?.();
  }

  /** False once stopped, or once a delivery failed (stop() then throws why). */
  get running(): boolean {
    return this.#running;
  }

  /** Relays until nothing is due; only once stopped, so two batches never overlap. */
  async drain(): Promise<void> {
    while ((await this.#batch()) > 0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.nudge();
    await this.#loop;
    if (this.#failure) throw this.#failure;
  }

  async #run(): Promise<void> {
    try {
      while (this.#running) {
        this.#nudged = false;
        if ((await this.#batch()) === 0 && !this.#nudged) await this.#idle();
      }
    } catch (error) {
      this.#failure = error;
      this.#running = false;
    }
  }

  async #batch(): Promise<number> {
    const rows = await this.#db.all(RELAY_SQL.due, [this.#db.time(new Date())]);
    if (rows.length === 0) return 0;
    const byAggregate = new Map<string, EventEnvelope[]>();
    for (const row of rows) {
      const events = byAggregate.get(String(row.aggregate_id)) ?? [];
      events.push(JSON.parse(String(row.envelope)) as EventEnvelope);
      byAggregate.set(String(row.aggregate_id), events);
    }
    await Promise.all(
      [...byAggregate.values()].map(async (events) => {
        for (const event of events) await this.#deliver(event);
      }),
    );
    const seqs = rows.map((row) => row.seq);
    await this.#db.run(RELAY_SQL.markPublished(seqs.length), [this.#db.time(new Date()), ...seqs]);
    return rows.length;
  }

  #idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Relay.pollMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.#wake = undefined;
    });
  }
}
