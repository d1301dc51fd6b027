import { readFileSync } from 'node:fs';
import type { MikroORM, Options } from '@mikro-orm/core';
import mysql from 'mysql2/promise';
import { type Migration, Migrator } from '@mikro-orm/migrations';
import type { Logger } from '../../../shared/logger.port.ts';
import { databaseUnavailable } from './database-unavailable.ts';
import { sqlDatabaseOf } from './shared/sql.ts';
import { checkSqliteFile, explainSqliteOpenFailure, sqliteEncryptionOptions } from './sqlite-encryption.ts';

export type Storage = 'sqlite' | 'mysql';

/** TLS to a MySQL server, handed to mysql2 as its `ssl` option (PEM strings; node:tls semantics). */
export interface MysqlTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Default true: the server certificate must chain to `ca` (or Node's bundled CAs) and match the host. */
  rejectUnauthorized?: boolean;
}

export interface DatabaseOptions {
  storage: Storage;
  /** A file path for sqlite, a mysql:// URL for mysql (see mysqlConnection for its query parameters). */
  location: string;
  migrations: { name: string; class: new (...args: never[]) => Migration }[];
  /** Most connections the pool opens (mysql). */
  poolSize?: number;
  /** Explicit TLS for mysql; merged over what the URL asks for. */
  tls?: MysqlTlsOptions | undefined;
  /**
   * MySQL: read replicas of the database (mysql:// URLs, same query parameters as `location`): MikroORM's
   * `replicas`, which the repositories' replica reads use (SqlDatabase.reader). Nothing connects to them
   * until a read does, so a replica that is down does not stop the database from opening.
   */
  replicas?: readonly string[] | undefined;
  /** SQLite: encrypt the file and its WAL with this key (see sqlite-encryption.ts); unset: plaintext. */
  encryptionKey?: string | undefined;
  logger: Logger;
}

/** Opens one module's database. Each module has its own: they never share tables. */
export async function openDatabase(options: DatabaseOptions): Promise<MikroORM> {
  const common: Partial<Options> = {
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
  if (options.storage === 'sqlite') return openSqlite(common, options);
  const replicas = (options.replicas ?? []).map((url, i) => replicaConnection(url, i, options.tls));
  return openMysql({
    ...common,
    ...mysqlConnection(options.location, options.tls),
    poolSize: options.poolSize,
    ...(replicas.length > 0 ? { replicas } : {}),
  });
}

/** A replica as MikroORM's `replicas` takes it; connecting gives up after a second (the primary answers then). */
function replicaConnection(url: string, index: number, tls: MysqlTlsOptions | undefined) {
  const { clientUrl, driverOptions } = mysqlConnection(url, tls);
  return {
    name: `replica-${index + 1}`,
    clientUrl,
    dbName: decodeURIComponent(new URL(clientUrl).pathname.slice(1)),
    driverOptions: { ...(driverOptions as object), connectTimeout: REPLICA_CONNECT_TIMEOUT_MS },
  };
}

const REPLICA_CONNECT_TIMEOUT_MS = 1_000;

async function openSqlite(common: Partial<Options>, options: DatabaseOptions): Promise<MikroORM> {
  const { location: path, encryptionKey: key } = options;
  const encrypted = key !== undefined && key !== '';
  checkSqliteFile(path, encrypted);
  const { MikroORM: LibSqlOrm } = await import('@mikro-orm/libsql');
  // driverOptions reach libsql's `new Database(path, driverOptions)` (@mikro-orm/libsql 7.2).
  const driverOptions = encrypted ? sqliteEncryptionOptions(key) : {};
  const orm = await LibSqlOrm.init({ ...common, dbName: path, driverOptions });
  try {
    // WAL lets readers proceed while the one writer commits; busy_timeout rides out a second process.
    // The first statement reads the file: a wrong key fails here, before anything is written.
    await orm.em.getConnection().execute('pragma journal_mode = wal');
    await orm.em.getConnection().execute('pragma busy_timeout = 5000');
    await orm.em.getConnection().execute('pragma foreign_keys = on');
    await orm.em.getConnection().execute('pragma synchronous = normal');
  } catch (error) {
    await orm.close().catch(() => {});
    throw explainSqliteOpenFailure(error, path, encrypted);
  }
  return orm as unknown as MikroORM;
}

/**
 * A MySQL/MariaDB connection through @mikro-orm/mysql (mysql2 underneath), tried once before it is returned:
 * MikroORM connects lazily, and a wrong password or a stopped server would otherwise surface in whatever
 * query comes first as a bare driver error. Fails with a DatabaseUnavailable saying why.
 */
export async function openMysql(
  options: Partial<Options> & { clientUrl: string; poolSize?: number | undefined },
): Promise<MikroORM> {
  const { poolSize, ...rest } = options;
  const { MikroORM: MySqlOrm } = await import('@mikro-orm/mysql');
  const orm = (await MySqlOrm.init({
    ...rest,
    pool: { min: 0, max: poolSize ?? 10 },
    // Dates are stored as UTC datetime(3); mysql2 hands them back as strings MikroORM parses as UTC.
    forceUtcTimezone: true,
  } as Options)) as unknown as MikroORM;
  try {
    await orm.em.getConnection().execute('select 1');
  } catch (error) {
    await orm.close().catch(() => {});
    throw databaseUnavailable(error, rest.clientUrl, rest.dbName);
  }
  return orm;
}

/**
 * Turns a mysql:// URL into MikroORM connection options. The query string may ask for TLS:
 *   ?ssl=true                 TLS, server certificate verified against Node's bundled CAs
 *   ?ssl-ca=/path/to/ca.pem   TLS, verified against that CA (implies ssl=true)
 *   ?ssl=false                no TLS (the default)
 * Explicit `tls` options are merged over these (e.g. a client certificate, or rejectUnauthorized).
 * Anything else in the query is refused, so a typo cannot silently turn TLS off.
 */
export function mysqlConnection(location: string, tls?: MysqlTlsOptions): Partial<Options> & { clientUrl: string } {
  const url = new URL(location);
  let ssl: MysqlTlsOptions | undefined;
  for (const [key, value] of url.searchParams) {
    if (key === 'ssl' && (value === 'true' || value === 'false')) ssl = value === 'true' ? (ssl ?? {}) : undefined;
    else if (key === 'ssl-ca' && value) ssl = { ...ssl, ca: readFileSync(value, 'utf8') };
    else throw new Error(`unsupported MySQL URL parameter "${key}" (supported: ssl=true|false, ssl-ca=PATH)`);
  }
  if (tls) ssl = { ...ssl, ...tls };
  url.search = '';
  // JSON as text on every server (MariaDB's JSON is LONGTEXT): JsonColumnType parses it the same way.
  return { clientUrl: url.toString(), driverOptions: { jsonStrings: true, ...(ssl ? { ssl } : {}) } };
}

/**
 * Applies pending migrations; returns the names applied (none on an up-to-date database). On MySQL the
 * database's named lock is held meanwhile: instances started together on a fresh schema would otherwise
 * race (the loser failing on "table already exists"); the second waits, then finds nothing to apply.
 * The lock lives on a connection of its own, not one of the pool's: a pool of one would be left with
 * nothing for the migrator.
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const up = async () => (await orm.migrator.up()).map((m: { name: string }) => m.name);
  if (sqlDatabaseOf(orm).dialect !== 'mysql') return up();
  const { clientUrl, dbName, driverOptions } = {
    clientUrl: orm.config.get('clientUrl'),
    dbName: orm.config.get('dbName'),
    driverOptions: orm.config.get('driverOptions') as { ssl?: object },
  };
  const lock = `hexashop-migrate:${dbName}`;
  const session = await mysql.createConnection({ uri: clientUrl, database: dbName, ssl: driverOptions.ssl });
  try {
    const [rows] = await session.query<mysql.RowDataPacket[]>('select get_lock(?, ?) as got', [
      lock,
      MIGRATION_LOCK_WAIT_S,
    ]);
    if (Number(rows[0]?.got) !== 1)
      throw new Error(`another process kept the migration lock ${lock} for ${MIGRATION_LOCK_WAIT_S} s`);
    return await up();
  } finally {
    await session.end().catch(() => session.destroy());
  }
}

const MIGRATION_LOCK_WAIT_S = 120;
