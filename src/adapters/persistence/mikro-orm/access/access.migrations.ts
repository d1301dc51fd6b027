import type { Storage } from '../orm.ts';
import { migrationsFor } from '../shared/ddl.ts';

/** access_db: the API keys, looked up by the SHA-256 of the key (unique). No outbox: the module publishes nothing. */
export const accessMigrations = (storage: Storage) =>
  migrationsFor(storage, [
    {
      name: '0001-api-keys',
      statements: (d) => [
        `create table api_keys (
          id ${d.id} not null primary key,
          name varchar(100) not null,
          role varchar(16) not null,
          prefix varchar(16) not null,
          start_chars varchar(8) not null,
          end_chars varchar(8) not null,
          hash char(64) not null,
          created_at ${d.timestamp} not null,
          expires_at ${d.timestamp} null,
          revoked_at ${d.timestamp} null,
          last_used_at ${d.timestamp} null,
          rate_limit_per_minute integer null,
          grace_until ${d.timestamp} null,
          rolled_to ${d.id} null
        )${d.tableOptions}`,
        'create unique index api_keys_hash on api_keys (hash)',
      ],
    },
  ]);
