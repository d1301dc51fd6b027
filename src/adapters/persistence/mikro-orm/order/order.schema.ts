import { defineEntity, p } from '@mikro-orm/core';
import type { OrderItem } from '../../../../modules/order/domain/order.ts';
import { JsonColumnType } from '../shared/json-column.type.ts';
import { OutboxRelayLockSchema, OutboxSchema, ProcessedEventSchema } from '../shared/outbox.schema.ts';

export const OrderSchema = defineEntity({
  name: 'OrderRow',
  tableName: 'orders',
  properties: {
    id: p.string().length(36).primary(),
    customerId: p.string().length(128).fieldName('customer_id'),
    status: p.string().length(16),
    rejectionReason: p.string().length(64).nullable().fieldName('rejection_reason'),
    items: p.json<OrderItem[]>().type(JsonColumnType),
    totalCents: p.bigint('number').nullable().fieldName('total_cents'),
    currency: p.string().length(3).nullable(),
    version: p.integer(),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});

export const IdempotencyKeySchema = defineEntity({
  name: 'IdempotencyKeyRow',
  tableName: 'idempotency_keys',
  properties: {
    customerId: p.string().length(128).primary().fieldName('customer_id'),
    key: p.string().length(255).primary().fieldName('idem_key'),
    requestHash: p.string().length(64).fieldName('request_hash'),
    orderId: p.string().length(36).fieldName('order_id'),
    mode: p.string().length(8),
    createdAt: p.datetime().fieldName('created_at'),
  },
});

export const CatalogEntrySchema = defineEntity({
  name: 'CatalogEntryRow',
  tableName: 'catalog_replica',
  properties: {
    productId: p.string().length(36).primary().fieldName('product_id'),
    sku: p.string().length(64),
    name: p.string().length(200),
    priceCents: p.bigint('number').fieldName('price_cents'),
    currency: p.string().length(3),
    version: p.integer(),
    deleted: p.boolean(),
  },
});

export const orderEntities = [
  OrderSchema,
  IdempotencyKeySchema,
  CatalogEntrySchema,
  OutboxSchema,
  ProcessedEventSchema,
  OutboxRelayLockSchema,
];
