import type { MikroORM, Options } from '@mikro-orm/core';
import { type Migration, Migrator } from '@mikro-orm/migrations';
import type { Logger } from '../../../shared/logger.port.ts';

export type Storage = 'sqlite' | 'mysql';

export interface DatabaseOptions {
  storage: Storage;
  /** A file path for sqlite, a mysql:// URL for mysql. */
  location: string;
  entities: readonly unknown[];
  migrations: { name: string; class: new (...args: never[]) => Migration }[];
  poolSize?: number;
  logger: Logger;
}

/** Opens one module's database. Each module has its own: they never share tables. */
export async function openDatabase(options: DatabaseOptions): Promise<MikroORM> {
  const common: Partial<Options> = {
    entities: options.entities as Options['entities'],
    extensions: [Migrator],
    migrations: {
      migrationsList: options.migrations as never,
      snapshot: false,
      tableName: 'schema_migrations',
      silent: true,
      transactional: true,
    },
    debug: false,
    allowGlobalContext: false,
    logger: (message) => options.logger.debug(message),
    discovery: { warnWhenNoEntities: false },
  };
  if (options.storage === 'sqlite') {
    const { MikroORM: LibSqlOrm } = await import('@mikro-orm/libsql');
    const orm = await LibSqlOrm.init({ ...common, dbName: options.location });
    // WAL lets readers proceed while the one writer commits; busy_timeout rides out a second process.
    await orm.em.getConnection().execute('pragma journal_mode = wal');
    await orm.em.getConnection().execute('pragma busy_timeout = 5000');
    await orm.em.getConnection().execute('pragma foreign_keys = on');
    return orm as unknown as MikroORM;
  }
  const { MikroORM: MySqlOrm } = await import('@mikro-orm/mysql');
  const orm = await MySqlOrm.init({
    ...common,
    clientUrl: options.location,
    pool: { min: 0, max: options.poolSize ?? 10 },
  });
  return orm as unknown as MikroORM;
}

/** Applies pending migrations; returns the names applied (none on an up-to-date database). */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m: { name: string }) => m.name);
}
