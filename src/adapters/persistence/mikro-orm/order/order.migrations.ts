import type { Storage } from '../orm.ts';
import {
  deadLetterTables,
  type Dialect,
  migrationsFor,
  outboxLeaseTables,
  outboxScheduleColumns,
  outboxTables,
} from '../shared/ddl.ts';

export const orderMigrations = (storage: Storage) =>
  migrationsFor(storage, [
    {
      name: '0001-orders',
      statements: (d) => [
        `create table orders (
          id ${d.id} not null primary key,
          customer_id varchar(128) not null,
          status varchar(16) not null,
          rejection_reason varchar(64) null,
          items ${d.json} not null,
          total_cents bigint not null,
          currency char(3) not null,
          version integer not null,
          created_at ${d.timestamp} not null,
          updated_at ${d.timestamp} not null
        )${d.tableOptions}`,
        'create index orders_customer on orders (customer_id, id)',
        'create index orders_status on orders (status, id)',
        `create table idempotency_keys (
          customer_id varchar(128) not null,
          idem_key varchar(255) not null,
          request_hash char(64) not null,
          order_id ${d.id} not null,
          mode varchar(8) not null,
          created_at ${d.timestamp} not null,
          primary key (customer_id, idem_key)
        )${d.tableOptions}`,
        `create table catalog_replica (
          product_id ${d.id} not null primary key,
          sku varchar(64) not null,
          name varchar(200) not null,
          price_cents bigint not null,
          currency char(3) not null,
          version integer not null,
          deleted boolean not null
        )${d.tableOptions}`,
        ...outboxTables(d),
      ],
    },
    { name: '0002-outbox-lease', statements: outboxLeaseTables },
    { name: '0003-outbox-schedule', statements: outboxScheduleColumns },
    { name: '0004-unpriced-orders', statements: unpricedOrders },
    { name: '0005-dead-letters', statements: deadLetterTables },
  ]);

/**
 * A PENDING order may hold lines the catalog replica has not seen yet: their price, and so the total and
 * perhaps the currency, are unknown until the product module prices the reservation. SQLite cannot drop a
 * NOT NULL in place, so the table is rebuilt there (same columns, same order, same indexes).
 */
function unpricedOrders(d: Dialect): string[] {
  if (d.name === 'mysql') return ['alter table orders modify total_cents bigint null, modify currency char(3) null'];
  return [
    `create table orders_next (
      id ${d.id} not null primary key,
      customer_id varchar(128) not null,
      status varchar(16) not null,
      rejection_reason varchar(64) null,
      items ${d.json} not null,
      total_cents bigint null,
      currency char(3) null,
      version integer not null,
      created_at ${d.timestamp} not null,
      updated_at ${d.timestamp} not null
    )`,
    'insert into orders_next select * from orders',
    'drop table orders',
    'alter table orders_next rename to orders',
    'create index orders_customer on orders (customer_id, id)',
    'create index orders_status on orders (status, id)',
  ];
}
