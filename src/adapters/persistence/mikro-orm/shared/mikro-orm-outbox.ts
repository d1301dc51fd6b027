import { type EntityManager, type MikroORM, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EventEnvelope } from '../../../../shared/messaging/event-envelope.ts';
import type { AppendOptions, Inbox, Outbox } from '../../../../shared/messaging/outbox.port.ts';
import type { OutboxStore, PublishClaimed } from '../../../messaging/outbox-relay.ts';
import { type OutboxLease, outboxLeaseFor } from './outbox-lease.ts';
import { OutboxSchema, ProcessedEventSchema } from './outbox.schema.ts';

/** Outbox and inbox bound to one transaction's entity manager. */
export class MikroOrmOutbox implements Outbox, Inbox {
  readonly #em: EntityManager;
  appended = 0;

  constructor(em: EntityManager) {
    this.#em = em;
  }

  async append(topic: string, events: readonly EventEnvelope[], options: AppendOptions = {}): Promise<void> {
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
        availableAt: options.notBefore ?? null,
      })),
    );
    // A scheduled row is nobody's business until it is due: the relay's next poll after that finds it.
    if (!options.notBefore) this.appended += events.length;
  }

  async withdrawScheduled(aggregateId: string): Promise<void> {
    await this.#em.nativeDelete(OutboxSchema, { aggregateId, publishedAt: null, availableAt: { $ne: null } });
  }

  async releaseScheduled(aggregateId: string): Promise<void> {
    const released = await this.#em.nativeUpdate(
      OutboxSchema,
      { aggregateId, publishedAt: null, availableAt: { $ne: null } },
      { availableAt: null },
    );
    this.appended += released;
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
 * The relay's view of the outbox table. Several processes may relay from one database (split mode,
 * several instances): the lease (see outbox-lease.ts) lets one of them at a time claim, publish and
 * mark a batch, so a row is never handed to two relays at once.
 */
export class MikroOrmOutboxStore implements OutboxStore {
  readonly #lease: OutboxLease;
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
    this.#lease = outboxLeaseFor(orm);
  }

  async withClaim(limit: number, publish: PublishClaimed): Promise<number> {
    // A plain read first: an idle poll costs one indexed lookup instead of taking and releasing the lease.
    const pending = await this.#orm.em
      .fork()
      .findOne(OutboxSchema, due(), { fields: ['seq'], disableIdentityMap: true });
    if (!pending) return 0;
    const sent = await this.#lease.hold(async (em) => {
      const rows = await em.find(OutboxSchema, due(), { orderBy: { seq: 'asc' }, limit, disableIdentityMap: true });
      if (rows.length === 0) return 0;
      const records = rows.map((row) => ({
        seq: Number(row.seq),
        topic: row.topic,
        event: JSON.parse(row.envelope) as EventEnvelope,
      }));
      const claimed = new Set(records.map((r) => r.seq));
      const done = [...new Set(await publish(records))].filter((seq) => claimed.has(seq));
      if (done.length > 0) await em.nativeUpdate(OutboxSchema, { seq: { $in: done } }, { publishedAt: new Date() });
      return records.length;
    });
    return sent ?? 0;
  }
}

/** Unpublished rows that are due: not scheduled, or scheduled for a time that has come. */
const due = () => ({ publishedAt: null, $or: [{ availableAt: null }, { availableAt: { $lte: new Date() } }] });
