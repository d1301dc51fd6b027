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
