import { type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EventEnvelope } from '../../../../shared/messaging/event-envelope.ts';
import type { AppendOptions, Inbox, Outbox } from '../../../../shared/messaging/outbox.port.ts';
import type { OutboxStore, PublishClaimed } from '../../../messaging/outbox-relay.ts';
import { type OutboxLease, outboxLeaseFor } from './outbox-lease.ts';
import { dateFrom, type Sql, type SqlDatabase, sqlDatabaseOf } from './sql.ts';

const APPEND =
  'insert into outbox (event_id, topic, aggregate_id, envelope, created_at, published_at, available_at) ' +
  'values (?, ?, ?, ?, ?, null, ?)';

/** Outbox and inbox bound to one transaction. */
export class MikroOrmOutbox implements Outbox, Inbox {
  readonly #tx: Sql;
  appended = 0;

  constructor(tx: Sql) {
    this.#tx = tx;
  }

  async append(topic: string, events: readonly EventEnvelope[], options: AppendOptions = {}): Promise<void> {
    const now = new Date();
    for (const e of events) {
      await this.#tx.run(APPEND, [e.id, topic, e.aggregateId, JSON.stringify(e), now, options.notBefore ?? null]);
    }
    // A scheduled row is nobody's business until it is due: the relay's next poll after that finds it.
    if (!options.notBefore) this.appended += events.length;
  }

  async withdrawScheduled(aggregateId: string): Promise<void> {
    await this.#tx.run(
      'delete from outbox where aggregate_id = ? and published_at is null and available_at is not null',
      [aggregateId],
    );
  }

  async releaseScheduled(aggregateId: string): Promise<void> {
    this.appended += await this.#tx.run(
      'update outbox set available_at = null where aggregate_id = ? and published_at is null and available_at is not null',
      [aggregateId],
    );
  }

  async markProcessed(consumer: string, eventId: string): Promise<boolean> {
    try {
      await this.#tx.run('insert into processed_events (consumer, event_id, processed_at) values (?, ?, ?)', [
        consumer,
        eventId,
        new Date(),
      ]);
      return true;
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return false;
      throw error;
    }
  }
}

/** Unpublished rows that are due: not scheduled, or scheduled for a time that has come. */
const DUE = 'published_at is null and (available_at is null or available_at <= ?)';

/**
 * The relay's view of the outbox table. Several processes may relay from one database (split mode,
 * several instances): the lease (see outbox-lease.ts) lets one of them at a time claim, publish and
 * mark a batch, so a row is never handed to two relays at once.
 */
export class MikroOrmOutboxStore implements OutboxStore {
  readonly #lease: OutboxLease;
  readonly #db: SqlDatabase;

  constructor(orm: MikroORM) {
    this.#db = sqlDatabaseOf(orm);
    this.#lease = outboxLeaseFor(this.#db);
  }

  async withClaim(limit: number, publish: PublishClaimed): Promise<number> {
    // A plain read first: an idle poll costs one indexed lookup instead of taking and releasing the lease.
    if (!(await this.#db.get(`select seq from outbox where ${DUE} limit 1`, [new Date()]))) return 0;
    const sent = await this.#lease.hold(async (tx) => {
      const rows = await tx.all(`select seq, topic, envelope from outbox where ${DUE} order by seq limit ${limit}`, [
        new Date(),
      ]);
      if (rows.length === 0) return 0;
      const records = rows.map((row) => ({
        seq: Number(row.seq),
        topic: String(row.topic),
        event: JSON.parse(String(row.envelope)) as EventEnvelope,
      }));
      const claimed = new Set(records.map((r) => r.seq));
      const done = [...new Set(await publish(records))].filter((seq) => claimed.has(seq));
      if (done.length > 0) {
        await tx.run(`update outbox set published_at = ? where seq in (${done.map(() => '?').join(', ')})`, [
          new Date(),
          ...done,
        ]);
      }
      return records.length;
    });
    return sent ?? 0;
  }

  release(): Promise<void> {
    return this.#lease.release();
  }
}

/** What the outbox has yet to publish: rows that are due, and when the oldest of them fell due (null: none). */
export interface OutboxBacklog {
  pending: number;
  oldestDueAt: Date | null;
}

/**
 * The outbox's backlog in one read over the unpublished rows (the `outbox_unpublished` index keeps them apart
 * from the published ones), for the metrics scrape. A row is due from its `available_at` when scheduled.
 */
export async function outboxBacklog(orm: MikroORM): Promise<OutboxBacklog> {
  const row = await sqlDatabaseOf(orm).get(
    `select count(*) as pending, min(coalesce(available_at, created_at)) as oldest from outbox where ${DUE}`,
    [new Date()],
  );
  const pending = Number(row?.pending ?? 0);
  const oldest = row?.oldest;
  return { pending, oldestDueAt: pending > 0 && oldest !== null && oldest !== undefined ? dateFrom(oldest) : null };
}
