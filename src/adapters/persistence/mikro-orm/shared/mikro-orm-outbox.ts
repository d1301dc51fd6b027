import { type EntityManager, type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EventEnvelope } from '../../../../shared/messaging/event-envelope.ts';
import type { Inbox, Outbox } from '../../../../shared/messaging/outbox.port.ts';
import type { OutboxRecord, OutboxStore } from '../../../messaging/outbox-relay.ts';
import { OutboxSchema, ProcessedEventSchema } from './outbox.schema.ts';

/** Outbox and inbox bound to one transaction's entity manager. */
export class MikroOrmOutbox implements Outbox, Inbox {
  readonly #em: EntityManager;
  appended = 0;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  async append(topic: string, events: readonly EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    const now = new Date();
    await this.#em.insertMany(
      OutboxSchema,
      events.map((e) => ({
        eventId: e.id,
        topic,
        aggregateId: e.aggregateId,
        envelope: JSON.stringify(e),
        createdAt: now,
        publishedAt: null,
      })),
    );
    this.appended += events.length;
  }

  async markProcessed(consumer: string, eventId: string): Promise<boolean> {
    try {
      await this.#em.insert(ProcessedEventSchema, { consumer, eventId, processedAt: new Date() });
      return true;
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return false;
      throw error;
    }
  }
}

/**
 * The relay's view of the outbox table. One relay per database per process; a second process on the
 * same database (split mode, several instances) is kept out by the claim (see claimSql).
 */
export class MikroOrmOutboxStore implements OutboxStore {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  async claim(limit: number): Promise<OutboxRecord[]> {
    const rows = await this.#orm.em
      .fork()
      .find(OutboxSchema, { publishedAt: null }, { orderBy: { seq: 'asc' }, limit });
    return rows.map((row) => ({ seq: row.seq, topic: row.topic, event: JSON.parse(row.envelope) as EventEnvelope }));
  }

  async markPublished(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.#orm.em.fork().nativeUpdate(OutboxSchema, { seq: { $in: [...seqs] } }, { publishedAt: new Date() });
  }
}
