import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import { sqlDatabaseOf } from '../../../src/adapters/persistence/mikro-orm/shared/sql.ts';
import { BootTokens } from '../../../src/bootstrap/wiring/boot-tokens.ts';
import type { TestPlatform } from '../../support/monolith.ts';

/** Bookkeeping that moves by itself (relay leases, the outbox's publishing marks), not business state. */
const MOVES_BY_ITSELF = /outbox|lease|schema_migrations|sqlite_/;

/**
 * A digest of every business row in the platform's databases (products, stock, reservations, orders, their
 * items, idempotency records, the catalog replica, API keys…): equal digests mean nothing changed.
 */
export async function stateDigest(platform: TestPlatform): Promise<string> {
  const orms = await platform.running.container.getAllAsync<MikroORM>(BootTokens.Database);
  const hash = createHash('sha256');
  for (const orm of orms) {
    const db = sqlDatabaseOf(orm);
    const tables = await db.all(`select name from sqlite_master where type = 'table' order by name`);
    for (const { name } of tables) {
      if (MOVES_BY_ITSELF.test(String(name))) continue;
      hash.update(String(name));
      for (const row of await db.all(`select * from "${String(name)}" order by rowid`)) {
        hash.update(JSON.stringify(row));
      }
    }
  }
  return hash.digest('hex');
}
