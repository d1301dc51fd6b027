import { Migration } from '@mikro-orm/migrations';
import type { Storage } from '../orm.ts';

/** Column types per dialect, so each module's migrations are written once for SQLite and MySQL. */
export interface Dialect {
  name: Storage;
  id: string;
  timestamp: string;
  json: string;
  serial: string;
  tableOptions: string;
}

export const dialects: Record<Storage, Dialect> = {
  sqlite: {
    name: 'sqlite',
    id: 'text',
    timestamp: 'datetime',
    json: 'text',
    serial: 'integer primary key autoincrement',
    tableOptions: '',
  },
  mysql: {
    name: 'mysql',
    id: 'char(36)',
    timestamp: 'datetime(3)',
    json: 'json',
    serial: 'bigint unsigned not null auto_increment primary key',
    tableOptions: ' engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin',
  },
};

/** The outbox and inbox every module's database carries. */
export const outboxTables = (d: Dialect) => [
  `create table outbox (
    seq ${d.serial},
    event_id ${d.id} not null,
    topic varchar(100) not null,
    aggregate_id ${d.id} not null,
    envelope text not null,
    created_at ${d.timestamp} not null,
    published_at ${d.timestamp} null
  )${d.tableOptions}`,
  'create index outbox_unpublished on outbox (published_at, seq)',
  `create table processed_events (
    consumer varchar(100) not null,
    event_id ${d.id} not null,
    processed_at ${d.timestamp} not null,
    primary key (consumer, event_id)
  )${d.tableOptions}`,
];

/** The relay lease row (see OutboxRelayLockSchema); migration step 0002-outbox-lease in every module. */
export const outboxLeaseTables = (d: Dialect) => [
  `create table outbox_relay_lock (
    id integer not null primary key,
    holder varchar(64) null,
    expires_at ${d.timestamp} null
  )${d.tableOptions}`,
  'insert into outbox_relay_lock (id, holder, expires_at) values (1, null, null)',
];

/**
 * Scheduled outbox rows (a crash guard held back until `available_at`) and withdrawing them by aggregate;
 * migration step 0003-outbox-schedule in every module.
 */
export const outboxScheduleColumns = (d: Dialect) => [
  `alter table outbox add column available_at ${d.timestamp} null`,
  'create index outbox_aggregate on outbox (aggregate_id, published_at)',
];

export type MigrationEntry = { name: string; class: new (...args: never[]) => Migration };

/** Turns lists of statements into MikroORM migrations for one dialect. */
export function migrationsFor(
  storage: Storage,
  steps: { name: string; statements: (d: Dialect) => string[] }[],
): MigrationEntry[] {
  return steps.map((step) => ({
    name: step.name,
    class: class extends Migration {
      override up(): void {
        for (const sql of step.statements(dialects[storage])) this.addSql(sql);
      }
    },
  }));
}

/**
 * The dead letters of the consumer groups a module owns (in-process bus; Kafka keeps them on `<topic>.dlq`),
 * kept for audit once replayed or discarded; migration step `dead-letters` in every module.
 */
export const deadLetterTables = (d: Dialect) => [
  `create table dead_letters (
    id ${d.id} not null primary key,
    topic varchar(200) not null,
    consumer_group varchar(200) not null,
    event_id ${d.id} not null,
    event_type varchar(100) not null,
    envelope text not null,
    error_code varchar(100) null,
    error text not null,
    attempts integer not null,
    parked_at ${d.timestamp} not null,
    replayed_at ${d.timestamp} null,
    discarded_at ${d.timestamp} null
  )${d.tableOptions}`,
  'create index dead_letters_parked on dead_letters (parked_at, id)',
];
