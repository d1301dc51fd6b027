import { defineEntity, p } from '@mikro-orm/core';

/** One row per event, written in the transaction of the change it describes; `seq` is commit order. */
export const OutboxSchema = defineEntity({
  name: 'OutboxRow',
  tableName: 'outbox',
  properties: {
    seq: p.integer().primary().autoincrement(),
    eventId: p.string().length(36).fieldName('event_id'),
    topic: p.string().length(100),
    aggregateId: p.string().length(36).fieldName('aggregate_id'),
    envelope: p.text(),
    createdAt: p.datetime().fieldName('created_at'),
    publishedAt: p.datetime().nullable().fieldName('published_at'),
    /** Null: due now. A time: a scheduled crash guard, due then unless withdrawn first. */
    availableAt: p.datetime().nullable().fieldName('available_at'),
  },
});

/** The inbox: which consumer has processed which event. The primary key is the duplicate guard. */
export const ProcessedEventSchema = defineEntity({
  name: 'ProcessedEvent',
  tableName: 'processed_events',
  properties: {
    consumer: p.string().length(100).primary(),
    eventId: p.string().length(36).primary().fieldName('event_id'),
    processedAt: p.datetime().fieldName('processed_at'),
  },
});

/**
 * The relay lease: one row (id 1). MySQL locks it with FOR UPDATE SKIP LOCKED for the length of a
 * claim; SQLite, whose write lock covers the whole file, records a holder and an expiry instead.
 */
export const OutboxRelayLockSchema = defineEntity({
  name: 'OutboxRelayLock',
  tableName: 'outbox_relay_lock',
  properties: {
    id: p.integer().primary().autoincrement(false),
    holder: p.string().length(64).nullable(),
    expiresAt: p.datetime().nullable().fieldName('expires_at'),
  },
});
