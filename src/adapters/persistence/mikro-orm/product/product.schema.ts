import { defineEntity, p } from '@mikro-orm/core';
import type { ReservedLine } from '../../../../modules/product/contract.ts';
import { JsonColumnType } from '../shared/json-column.type.ts';
import { OutboxRelayLockSchema, OutboxSchema, ProcessedEventSchema } from '../shared/outbox.schema.ts';

export const ProductSchema = defineEntity({
  name: 'ProductRow',
  tableName: 'products',
  properties: {
    id: p.string().length(36).primary(),
    sku: p.string().length(64).unique(),
    name: p.string().length(200),
    description: p.text(),
    priceCents: p.bigint('number').fieldName('price_cents'),
    currency: p.string().length(3),
    stock: p.integer(),
    version: p.integer(),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});

export const ReservationSchema = defineEntity({
  name: 'ReservationRow',
  tableName: 'reservations',
  properties: {
    orderId: p.string().length(36).primary().fieldName('order_id'),
    status: p.string().length(16),
    reason: p.string().length(64).nullable(),
    lines: p.json<ReservedLine[]>().type(JsonColumnType),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});

export const productEntities = [
  ProductSchema,
  ReservationSchema,
  OutboxSchema,
  ProcessedEventSchema,
  OutboxRelayLockSchema,
];
