import type { MikroORM } from '@mikro-orm/core';
import { migrate } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmDeadLetterStore } from '../../src/adapters/persistence/mikro-orm/shared/mikro-orm-dead-letter-store.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { openModuleDatabase } from '../../src/bootstrap/infrastructure.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { freshMysqlDatabase } from '../support/mysql.ts';
import { describeDeadLetterStoreContract } from './dead-letter-store.contract.ts';

describeDeadLetterStoreContract('mysql (MikroORM), order_db', async () => {
  const db = await freshMysqlDatabase('order');
  const config = loadConfig({ flags: { storage: 'mysql', orderDbUrl: db.url, dbPoolSize: 2 }, env: {} });
  const orms: MikroORM[] = [];
  const open = async () => {
    const orm = await openModuleDatabase(config, 'order', silentLogger);
    orms.push(orm);
    if (orms.length === 1) await migrate(orm);
    return new MikroOrmDeadLetterStore(orm);
  };
  return {
    store: await open(),
    reopen: open,
    dispose: async () => {
      for (const orm of orms) await orm.close();
      await db.drop();
    },
  };
});
