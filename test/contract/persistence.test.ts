import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryOrderPersistence } from '../../src/adapters/persistence/in-memory/in-memory-order-persistence.ts';
import { InMemoryProductPersistence } from '../../src/adapters/persistence/in-memory/in-memory-product-persistence.ts';
import { InMemoryOutboxStore } from '../../src/adapters/persistence/in-memory/in-memory-transactions.ts';
import { MikroOrmOrderPersistence } from '../../src/adapters/persistence/mikro-orm/order/mikro-orm-order-persistence.ts';
import { migrate } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmProductPersistence } from '../../src/adapters/persistence/mikro-orm/product/mikro-orm-product-persistence.ts';
import { MikroOrmOutboxStore } from '../../src/adapters/persistence/mikro-orm/shared/mikro-orm-outbox.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { type ModuleName, openModuleDatabase } from '../../src/bootstrap/infrastructure.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { describeOrderPersistenceContract } from './order-persistence.contract.ts';
import { describeProductPersistenceContract } from './product-persistence.contract.ts';

/** A freshly migrated SQLite database for one module, in a temp dir removed on dispose. */
async function sqlite(module: ModuleName) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-contract-'));
  const config = loadConfig({ flags: { dataDir, storage: 'sqlite' }, env: {} });
  const orm = await openModuleDatabase(config, module, silentLogger);
  await migrate(orm);
  return {
    orm,
    dispose: async () => {
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

describeOrderPersistenceContract('in-memory', async () => ({
  persistence: new InMemoryOrderPersistence(),
  dispose: async () => {},
}));

describeOrderPersistenceContract('sqlite (MikroORM)', async () => {
  const db = await sqlite('order');
  return { persistence: new MikroOrmOrderPersistence(db.orm, () => {}), dispose: db.dispose };
});
