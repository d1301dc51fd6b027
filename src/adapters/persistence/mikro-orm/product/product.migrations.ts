import type { Storage } from '../orm.ts';
import {
  deadLetterTables,
  migrationsFor,
  outboxLeaseTables,
  outboxScheduleColumns,
  outboxTables,
} from '../shared/ddl.ts';

export const productMigrations = (storage: Storage) =>
  migrationsFor(storage, [
    {
      name: '0001-products',
      statements: (d) => [
        `create table products (
          id ${d.id} not null primary key,
          sku varchar(64) not null,
          name varchar(200) not null,
          description text not null,
          price_cents bigint not null,
          currency char(3) not null,
          stock integer not null check (stock >= 0),
          version integer not null,
          created_at ${d.timestamp} not null,
          updated_at ${d.timestamp} not null
        )${d.tableOptions}`,
        'create unique index products_sku on products (sku)',
        // `lines` is a reserved word in MySQL/MariaDB; the backticks work on SQLite too.
        `create table reservations (
          order_id ${d.id} not null primary key,
          status varchar(16) not null,
          reason varchar(64) null,
          \`lines\` ${d.json} not null,
          created_at ${d.timestamp} not null,
          updated_at ${d.timestamp} not null
        )${d.tableOptions}`,
        ...outboxTables(d),
      ],
    },
    { name: '0002-outbox-lease', statements: outboxLeaseTables },
    { name: '0003-outbox-schedule', statements: outboxScheduleColumns },
    { name: '0004-dead-letters', statements: deadLetterTables },
  ]);
