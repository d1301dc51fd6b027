import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { MemoryDeadLetterStore } from '../../src/adapters/messaging/in-process/dead-letter-store.ts';
import { RoutedDeadLetterStore } from '../../src/adapters/messaging/in-process/routed-dead-letter-store.ts';
import { migrate } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmDeadLetterStore } from '../../src/adapters/persistence/mikro-orm/shared/mikro-orm-dead-letter-store.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { openModuleDatabase } from '../../src/bootstrap/infrastructure.ts';
import type { ModuleName } from '../../src/bootstrap/role-table.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { describeDeadLetterStoreContract } from './dead-letter-store.contract.ts';

describeDeadLetterStoreContract('memory', async () => {
  const store = new MemoryDeadLetterStore();
  return { store, reopen: async () => store, dispose: async () => {} };
});

/** A module's SQLite database, reopened (a new ORM on the same file) as a restart would. */
async function sqlite(module: ModuleName) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-dlq-contract-'));
  const config = loadConfig({ flags: { dataDir, storage: 'sqlite' }, env: {} });
  const orms: MikroORM[] = [];
  const open = async () => {
    const orm = await openModuleDatabase(config, module, silentLogger);
    await migrate(orm);
    orms.push(orm);
    return new MikroOrmDeadLetterStore(orm);
  };
  const store = await open();
  return {
    store,
    reopen: open,
    dispose: async () => {
      for (const orm of orms) await orm.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describeDeadLetterStoreContract('sqlite (MikroORM), order_db', () => sqlite('order'));
describeDeadLetterStoreContract('sqlite (MikroORM), product_db', () => sqlite('product'));

describeDeadLetterStoreContract('routed over two module databases', async () => {
  const [product, order] = [await sqlite('product'), await sqlite('order')];
  const routed = () => {
    const store = new RoutedDeadLetterStore();
    store.attach('product', product.store);
    store.attach('order', order.store);
    store.route('product-service', 'product');
    store.route('order-service', 'order');
    return store;
  };
  return {
    store: routed(),
    reopen: async () => routed(),
    dispose: async () => {
      await product.dispose();
      await order.dispose();
    },
  };
});
