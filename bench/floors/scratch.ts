/**
 * Scratch databases for the floors: a product_db and an order_db with the project's own tables (its
 * migrations, run through its MikroORM opener) and one product with plenty of stock, on either storage:
 * two SQLite files in a temporary directory, or two MySQL schemas `floor_product_<rand>` /
 * `floor_order_<rand>` created and dropped with the admin account. Whatever is created is removed again,
 * also when the bench is interrupted (see `undoOnInterrupt`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMysqlAdmin } from '../../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import { migrate, type Storage } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { MikroOrmProductRepository } from '../../src/adapters/persistence/mikro-orm/product/mikro-orm-product.repository.ts';
import { sqlDatabaseOf } from '../../src/adapters/persistence/mikro-orm/shared/sql.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { databaseLocation, openModuleDatabase } from '../../src/bootstrap/infrastructure.ts';
import { Product } from '../../src/modules/product/domain/product.ts';
import { newId } from '../../src/shared/id.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';

/** The account that may create and drop schemas (as `npm run services:up` uses it). */
export const MYSQL_ADMIN_URL = process.env.HEXASHOP_MYSQL_ADMIN_URL ?? 'mysql://root@127.0.0.1:3306';

export interface ScratchDatabases {
  storage: Storage;
  /** A SQLite file path or a mysql:// URL, as the project's `location` of a module database. */
  productDb: string;
  orderDb: string;
  /** The product every floor order takes one of. */
  productId: string;
  drop(): Promise<void>;
}

/** Work to undo if the bench is stopped by a signal before it undoes it itself. */
const pendingUndo = new Set<() => Promise<void>>();
let handlersInstalled = false;

/** Registers `undo` to run on SIGINT/SIGTERM; the returned function runs it now (once) instead. */
export function undoOnInterrupt(undo: () => Promise<void>): () => Promise<void> {
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.error(`\n${signal}: cleaning up`);
        const all = Promise.allSettled([...pendingUndo].map((u) => u()));
        const cap = new Promise((resolve) => setTimeout(resolve, 15_000).unref());
        void Promise.race([all, cap]).finally(() => process.exit(130));
      });
    }
  }
  let done: Promise<void> | undefined;
  const once = () => {
    pendingUndo.delete(once);
    return (done ??= undo());
  };
  pendingUndo.add(once);
  return once;
}

export async function scratchDatabases(storage: Storage): Promise<ScratchDatabases> {
  const created = storage === 'sqlite' ? sqliteFiles() : await mysqlSchemas();
  try {
    // The project's own opener and migrations, on a configuration that points at the scratch databases.
    const config = loadConfig({ flags: { storage, dbPoolSize: 1, ...created.flags }, env: {} });
    for (const module of ['product', 'order'] as const) {
      const orm = await openModuleDatabase(config, module, silentLogger);
      try {
        await migrate(orm);
        if (module === 'product')
          await new MikroOrmProductRepository(sqlDatabaseOf(orm)).insert(
            Product.restore(benchProduct(created.productId)),
          );
      } finally {
        await orm.close();
      }
    }
    return {
      storage,
      productDb: databaseLocation(config, 'product'),
      orderDb: databaseLocation(config, 'order'),
      productId: created.productId,
      drop: created.drop,
    };
  } catch (error) {
    await created.drop();
    throw error;
  }
}

function benchProduct(id: string) {
  const now = new Date();
  return {
    id,
    sku: `FLOOR-${Date.now()}`,
    name: 'Bench',
    description: '',
    priceCents: 100,
    currency: 'EUR',
    stock: 1_000_000_000,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

/** What was created, as the configuration settings that point at it, and how to remove it. */
interface Created {
  flags: Record<string, string>;
  productId: string;
  drop(): Promise<void>;
}

function sqliteFiles(): Created {
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-floors-'));
  const drop = undoOnInterrupt(async () => rmSync(dataDir, { recursive: true, force: true }));
  return { flags: { dataDir }, productId: newId(), drop };
}

async function mysqlSchemas(): Promise<Created> {
  const suffix = randomBytes(4).toString('hex');
  const names = [`floor_product_${suffix}`, `floor_order_${suffix}`] as const;
  const onAdmin = async (statement: (name: string) => string) => {
    const admin = await openMysqlAdmin(MYSQL_ADMIN_URL);
    try {
      for (const name of names) await admin.execute(statement(name));
    } finally {
      await admin.close();
    }
  };
  const drop = undoOnInterrupt(() => onAdmin((name) => `drop database if exists \`${name}\``));
  await onAdmin((name) => `create database \`${name}\` character set utf8mb4 collate utf8mb4_bin`);
  const at = (name: string) => `${MYSQL_ADMIN_URL.replace(/\/+$/, '')}/${name}`;
  return { flags: { productDbUrl: at(names[0]), orderDbUrl: at(names[1]) }, productId: newId(), drop };
}
