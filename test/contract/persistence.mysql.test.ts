import { expect } from 'chai';
import type { MikroORM } from '@mikro-orm/core';
import { MemoryCache } from '../../src/adapters/cache/memory/memory-cache.ts';
import { CachedProductPersistence } from '../../src/adapters/cache/product/cached-product-persistence.ts';
import { MikroOrmOrderPersistence } from '../../src/adapters/persistence/mikro-orm/order/mikro-orm-order-persistence.ts';
import { migrate } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { productMigrations } from '../../src/adapters/persistence/mikro-orm/product/product.migrations.ts';
import { MikroOrmProductPersistence } from '../../src/adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import { MikroOrmOutboxStore } from '../../src/adapters/persistence/mikro-orm/shared/mikro-orm-outbox.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { openModuleDatabase } from '../../src/bootstrap/infrastructure.ts';
import type { DatabaseName } from '../../src/bootstrap/role-table.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { freshMysqlDatabase } from '../support/mysql.ts';
import { describeOrderPersistenceContract } from './order-persistence.contract.ts';
import { describeOutboxStoreContract } from './outbox-store.contract.ts';
import { describeProductPersistenceContract } from './product-persistence.contract.ts';
import { describeApiKeyRepositoryContract } from './api-key-repository.contract.ts';
import { MikroOrmApiKeyRepository } from '../../src/adapters/persistence/mikro-orm/access/mikro-orm-api-key.repository.ts';

/**
 * The persistence contracts on MySQL/MariaDB (whichever integrationServices() provides): each test gets
 * a fresh database `t_<module>_<random>`, migrated with the module's migrations, dropped on dispose.
 */
async function mysql(module: DatabaseName) {
  const db = await freshMysqlDatabase(module);
  const config = loadConfig({
    flags: { storage: 'mysql', productDbUrl: db.url, orderDbUrl: db.url, accessDbUrl: db.url, dbPoolSize: 5 },
    env: {},
  });
  const orms: MikroORM[] = [];
  const open = async () => {
    const orm = await openModuleDatabase(config, module, silentLogger);
    orms.push(orm);
    return orm;
  };
  const dispose = async () => {
    for (const orm of orms) await orm.close();
    await db.drop();
  };
  try {
    const orm = await open();
    await migrate(orm);
    /** openAnother: a second pool on the same database, as a second instance of the service opens. */
    return { orm, openAnother: open, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

describeProductPersistenceContract('mysql (MikroORM)', async () => {
  const db = await mysql('product');
  return {
    persistence: new MikroOrmProductPersistence(db.orm, () => {}),
    outboxStore: new MikroOrmOutboxStore(db.orm),
    dispose: db.dispose,
  };
});

describeProductPersistenceContract('mysql (MikroORM) behind the product cache', async () => {
  const db = await mysql('product');
  return {
    persistence: new CachedProductPersistence(new MikroOrmProductPersistence(db.orm, () => {}), new MemoryCache()),
    outboxStore: new MikroOrmOutboxStore(db.orm),
    dispose: db.dispose,
  };
});

describeApiKeyRepositoryContract('mysql (MikroORM)', async () => {
  const db = await mysql('access');
  return { repository: new MikroOrmApiKeyRepository(db.orm), dispose: db.dispose };
});

describeOrderPersistenceContract('mysql (MikroORM)', async () => {
  const db = await mysql('order');
  return { persistence: new MikroOrmOrderPersistence(db.orm, () => {}), dispose: db.dispose };
});

describeOutboxStoreContract('mysql (MikroORM, two pools)', async () => {
  const db = await mysql('product');
  const persistence = new MikroOrmProductPersistence(db.orm, () => {});
  return {
    append: (topic, events) => persistence.transaction((tx) => tx.outbox.append(topic, events)),
    inTransaction: (work) => persistence.transaction((tx) => work(tx.outbox)),
    stores: [new MikroOrmOutboxStore(db.orm), new MikroOrmOutboxStore(await db.openAnother())],
    dispose: db.dispose,
  };
});

describe('migrations on MySQL', function () {
  this.timeout(60_000);

  it('lets instances started together on a fresh schema migrate it once, neither failing, even with a pool of one', async () => {
    const db = await freshMysqlDatabase('product');
    const config = loadConfig({ flags: { storage: 'mysql', productDbUrl: db.url, dbPoolSize: 1 }, env: {} });
    const orms = await Promise.all([1, 2, 3].map(() => openModuleDatabase(config, 'product', silentLogger)));
    try {
      const applied = await Promise.all(orms.map((orm) => migrate(orm)));
      expect(applied.map((names) => names.length).sort()).to.deep.equal([0, 0, productMigrations('mysql').length]);
    } finally {
      for (const orm of orms) await orm.close();
      await db.drop();
    }
  });
});
