import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { expect } from 'chai';
import { MemoryCache } from '../../src/adapters/cache/memory/memory-cache.ts';
import { CachedProductPersistence } from '../../src/adapters/cache/product/cached-product-persistence.ts';
import { TieredCache } from '../../src/adapters/cache/tiered-cache.ts';
import type { OutboxRecord } from '../../src/adapters/messaging/outbox-relay.ts';
import { InMemoryOrderPersistence } from '../../src/adapters/persistence/in-memory/in-memory-order-persistence.ts';
import { InMemoryProductPersistence } from '../../src/adapters/persistence/in-memory/in-memory-product-persistence.ts';
import { InMemoryOutboxStore } from '../../src/adapters/persistence/in-memory/in-memory-transactions.ts';
import { MikroOrmOrderPersistence } from '../../src/adapters/persistence/mikro-orm/order/mikro-orm-order-persistence.ts';
import { migrate } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmProductPersistence } from '../../src/adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import { MikroOrmOutboxStore } from '../../src/adapters/persistence/mikro-orm/shared/mikro-orm-outbox.ts';
import { sqlDatabaseOf } from '../../src/adapters/persistence/mikro-orm/shared/sql.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { openModuleDatabase } from '../../src/bootstrap/infrastructure.ts';
import type { DatabaseName } from '../../src/bootstrap/role-table.ts';
import { newId } from '../../src/shared/id.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { envelope } from './event-bus.contract.ts';
import { describeOrderPersistenceContract } from './order-persistence.contract.ts';
import { describeOutboxStoreContract } from './outbox-store.contract.ts';
import { describeProductPersistenceContract } from './product-persistence.contract.ts';
import { describeApiKeyRepositoryContract } from './api-key-repository.contract.ts';
import { InMemoryApiKeyRepository } from '../../src/adapters/persistence/in-memory/in-memory-api-key.repository.ts';
import { MikroOrmApiKeyRepository } from '../../src/adapters/persistence/mikro-orm/access/mikro-orm-api-key.repository.ts';

/** A freshly migrated SQLite database for one module, in a temp dir removed on dispose. */
async function sqlite(module: DatabaseName) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-contract-'));
  const config = loadConfig({ flags: { dataDir, storage: 'sqlite' }, env: {} });
  const orm = await openModuleDatabase(config, module, silentLogger);
  await migrate(orm);
  const others: MikroORM[] = [];
  return {
    orm,
    /** Another connection to the same file, as a second process would open. */
    openAnother: async () => {
      const other = await openModuleDatabase(config, module, silentLogger);
      others.push(other);
      return other;
    },
    dispose: async () => {
      for (const other of others) await other.close();
      await orm.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describeProductPersistenceContract('in-memory', async () => {
  const persistence = new InMemoryProductPersistence();
  return { persistence, outboxStore: new InMemoryOutboxStore(persistence.transactions), dispose: async () => {} };
});

describeProductPersistenceContract('sqlite (MikroORM)', async () => {
  const db = await sqlite('product');
  return {
    persistence: new MikroOrmProductPersistence(db.orm, () => {}),
    outboxStore: new MikroOrmOutboxStore(db.orm),
    dispose: db.dispose,
  };
});

// The product cache in front of each store must behave as the store does (one tier, and two tiers).
describeProductPersistenceContract('in-memory behind the product cache (two tiers)', async () => {
  const store = new InMemoryProductPersistence();
  const cache = new TieredCache(new MemoryCache({ maxTtlMs: 1_000 }), new MemoryCache());
  return {
    persistence: new CachedProductPersistence(store, cache),
    outboxStore: new InMemoryOutboxStore(store.transactions),
    dispose: async () => {},
  };
});

describeProductPersistenceContract('sqlite (MikroORM) behind the product cache', async () => {
  const db = await sqlite('product');
  return {
    persistence: new CachedProductPersistence(new MikroOrmProductPersistence(db.orm, () => {}), new MemoryCache()),
    outboxStore: new MikroOrmOutboxStore(db.orm),
    dispose: db.dispose,
  };
});

describeApiKeyRepositoryContract('in-memory', async () => ({
  repository: new InMemoryApiKeyRepository(),
  dispose: async () => {},
}));

describeApiKeyRepositoryContract('sqlite (MikroORM)', async () => {
  const db = await sqlite('access');
  return { repository: new MikroOrmApiKeyRepository(db.orm), dispose: db.dispose };
});

describeOrderPersistenceContract('in-memory', async () => ({
  persistence: new InMemoryOrderPersistence(),
  dispose: async () => {},
}));

describeOrderPersistenceContract('sqlite (MikroORM)', async () => {
  const db = await sqlite('order');
  return { persistence: new MikroOrmOrderPersistence(db.orm, () => {}), dispose: db.dispose };
});

describeOutboxStoreContract('in-memory', async () => {
  const persistence = new InMemoryProductPersistence();
  return {
    append: (topic, events) => persistence.transaction((tx) => tx.outbox.append(topic, events)),
    inTransaction: (work) => persistence.transaction((tx) => work(tx.outbox)),
    stores: [new InMemoryOutboxStore(persistence.transactions), new InMemoryOutboxStore(persistence.transactions)],
    dispose: async () => {},
  };
});

describeOutboxStoreContract('sqlite (MikroORM, two connections)', async () => {
  const db = await sqlite('product');
  const persistence = new MikroOrmProductPersistence(db.orm, () => {});
  return {
    append: (topic, events) => persistence.transaction((tx) => tx.outbox.append(topic, events)),
    inTransaction: (work) => persistence.transaction((tx) => work(tx.outbox)),
    stores: [new MikroOrmOutboxStore(db.orm), new MikroOrmOutboxStore(await db.openAnother())],
    dispose: db.dispose,
  };
});

describe('MikroOrmOutboxStore on SQLite: the expiring lease', () => {
  const publishAll = async (records: readonly OutboxRecord[]) => records.map((r) => r.seq);

  it('waits for a live holder and takes over from one that died holding the lease', async () => {
    const db = await sqlite('product');
    try {
      const persistence = new MikroOrmProductPersistence(db.orm, () => {});
      const store = new MikroOrmOutboxStore(db.orm);
      await persistence.transaction((tx) => tx.outbox.append('product-events', [envelope(newId())]));
      const sql = sqlDatabaseOf(db.orm);
      const holdLease = (expiresAt: Date) =>
        sql.run("update outbox_relay_lock set holder = 'another-process', expires_at = ? where id = 1", [expiresAt]);

      await holdLease(new Date(Date.now() + 60_000));
      expect(await store.withClaim(10, publishAll)).to.equal(0);
      await holdLease(new Date(Date.now() - 1));
      expect(await store.withClaim(10, publishAll)).to.equal(1);
    } finally {
      await db.dispose();
    }
  });

  it('keeps the lease from batch to batch until the relay stops, and frees it when publishing fails', async () => {
    const db = await sqlite('product');
    try {
      const persistence = new MikroOrmProductPersistence(db.orm, () => {});
      const [a, b] = [new MikroOrmOutboxStore(db.orm), new MikroOrmOutboxStore(await db.openAnother())];
      const append = () => persistence.transaction((tx) => tx.outbox.append('product-events', [envelope(newId())]));
      const holder = async () => (await sqlDatabaseOf(db.orm).get('select holder from outbox_relay_lock'))?.holder;

      await append();
      expect(await a.withClaim(10, publishAll)).to.equal(1);
      await append();
      expect(await b.withClaim(10, publishAll), 'a keeps the lease between batches').to.equal(0);
      expect(await a.withClaim(10, publishAll)).to.equal(1);
      expect(await holder()).to.match(new RegExp(`/${process.pid}/`));

      await a.release();
      expect(await holder()).to.equal(null);
      await append();
      await b
        .withClaim(10, async () => {
          throw new Error('bus down');
        })
        .catch(() => undefined);
      expect(await holder(), 'a failed publish frees the lease').to.equal(null);
      expect(await a.withClaim(10, publishAll)).to.equal(1);
    } finally {
      await db.dispose();
    }
  });

  it('takes over at once from a process of this host that died holding it', async () => {
    const db = await sqlite('product');
    try {
      const persistence = new MikroOrmProductPersistence(db.orm, () => {});
      await persistence.transaction((tx) => tx.outbox.append('product-events', [envelope(newId())]));
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      });
      const deadHolder = `${hostname()}/${dead.stdout}/gone`;
      await sqlDatabaseOf(db.orm).run('update outbox_relay_lock set holder = ?, expires_at = ? where id = 1', [
        deadHolder,
        new Date(Date.now() + 60_000),
      ]);
      expect(await new MikroOrmOutboxStore(db.orm).withClaim(10, publishAll)).to.equal(1);
    } finally {
      await db.dispose();
    }
  });
});
