/**
 * Provisions MySQL/MariaDB for the split roles from an admin connection: one schema per module and one
 * user per schema, granted everything on its own schema and nothing else (no global privilege), as the
 * contract requires. Idempotent: run it on every deploy; it also resets each user's password to the
 * configured one. Passwords never reach the logger, and errors are rebuilt without the SQL that carried them.
 */
import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../../../shared/logger.port.ts';
import { type MysqlTlsOptions, mysqlConnection, openMysql } from './orm.ts';

export interface MysqlSetupOptions {
  /** A user allowed to create databases and users and to grant (e.g. mysql://root@127.0.0.1:3306). */
  adminUrl: string;
  /** mysql://user:password@host:port/schema — the schema and the user the product role connects with. */
  productDbUrl: string;
  orderDbUrl: string;
  /** access_db (the gateway's API keys); optional so callers that provision only the two services still work. */
  accessDbUrl?: string | undefined;
  logger: Logger;
  /**
   * Hosts each user is created for. '%' covers TCP from anywhere, 127.0.0.1 included; 'localhost' is
   * matched separately by MariaDB/MySQL for socket and `localhost` connections, and an anonymous
   * ''@'localhost' account (left by some installers) would otherwise shadow '%' there.
   */
  hosts?: readonly string[];
  /** TLS for the admin connection (the URL's ?ssl=… is honoured too). */
  tls?: MysqlTlsOptions;
}

export interface MysqlSetupResult {
  schemas: string[];
  users: string[];
}

/** A plain SQL session; errors carry the server's message and code, never the statement. */
export interface MysqlSession {
  execute<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

interface ModuleAccount {
  module: string;
  schema: string;
  user: string;
  password: string;
}

const SCHEMA_NAME = /^[A-Za-z0-9_]{1,64}$/;
const USER_NAME = /^[A-Za-z0-9_.-]{1,32}$/; // 32: MySQL 8's limit (MariaDB allows 80)
const HOST_NAME = /^[A-Za-z0-9_.%:-]{1,255}$/;

export async function setupMysql(options: MysqlSetupOptions): Promise<MysqlSetupResult> {
  const hosts = options.hosts ?? ['%', 'localhost'];
  const bad = hosts.find((h) => !HOST_NAME.test(h));
  if (bad !== undefined || hosts.length === 0) throw new Error(`mysql setup: invalid host list`);
  const adminUser = decodeUrlPart(new URL(options.adminUrl).username, 'admin');
  const accounts = [account('product', options.productDbUrl), account('order', options.orderDbUrl)];
  if (options.accessDbUrl !== undefined) accounts.push(account('access', options.accessDbUrl));
  const [product, order] = accounts as [ModuleAccount, ModuleAccount];
  if (product.schema === order.schema) throw new Error('mysql setup: product and order need separate schemas');
  if (product.user === order.user) throw new Error('mysql setup: product and order need separate users');
  for (const [i, a] of accounts.entries()) {
    for (const b of accounts.slice(0, i)) {
      if (a.schema === b.schema) throw new Error(`mysql setup: ${b.module} and ${a.module} need separate schemas`);
      if (a.user === b.user) throw new Error(`mysql setup: ${b.module} and ${a.module} need separate users`);
    }
  }
  for (const a of accounts) {
    // Altering the admin's own password or narrowing its grants would lock the operator out.
    if (a.user === adminUser) throw new Error(`mysql setup: the ${a.module} user must not be the admin user`);
  }

  const admin = await openMysqlSession(options.adminUrl, {
    tls: options.tls,
    secrets: accounts.map((a) => a.password),
  });
  try {
    const escapeGrantWildcards = await grantNamesUseWildcards(admin);
    for (const a of accounts) {
      if (a.password === '')
        options.logger.warn('mysql setup: user has an empty password', { code: 'MYSQL_EMPTY_PASSWORD', user: a.user });
      await admin.execute(`create database if not exists \`${a.schema}\` character set utf8mb4 collate utf8mb4_bin`);
      options.logger.info('mysql setup: schema ready', { module: a.module, schema: a.schema });
      // In GRANT, '_' and '%' in a database name are wildcards: product_db would also match productXdb.
      const grantTarget = escapeGrantWildcards ? a.schema.replace(/[_%]/g, '\\$&') : a.schema;
      for (const host of hosts) {
        await admin.execute('create user if not exists ?@? identified by ?', [a.user, host, a.password]);
        await admin.execute('alter user ?@? identified by ?', [a.user, host, a.password]);
        await admin.execute(`grant all privileges on \`${grantTarget}\`.* to ?@?`, [a.user, host]);
        const extra = await extraGrants(admin, a, host);
        if (extra > 0) {
          options.logger.warn('mysql setup: user has privileges beyond its own schema; revoke them', {
            code: 'MYSQL_EXTRA_GRANTS',
            user: a.user,
            host,
            extraGrants: extra,
          });
        }
      }
      options.logger.info('mysql setup: user ready', { module: a.module, user: a.user, hosts });
    }
  } finally {
    await admin.close();
  }
  return { schemas: accounts.map((a) => a.schema), users: accounts.map((a) => a.user) };
}

function account(module: string, location: string): ModuleAccount {
  const url = new URL(location);
  const decode = (part: string) => decodeUrlPart(part, module);
  const schema = decode(url.pathname.replace(/^\//, ''));
  const user = decode(url.username);
  if (!SCHEMA_NAME.test(schema)) throw new Error(`mysql setup: the ${module} URL must name a schema ([A-Za-z0-9_])`);
  if (!USER_NAME.test(user)) throw new Error(`mysql setup: the ${module} URL must name a user ([A-Za-z0-9_.-], ≤ 32)`);
  return { module, schema, user, password: decode(url.password) };
}

function decodeUrlPart(part: string, which: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error(`mysql setup: the ${which} URL is not valid percent-encoding (write % as %25)`);
  }
}

/**
 * MySQL 8 with partial_revokes=ON reads '_' and '%' in GRANT database names literally; MariaDB and
 * MySQL without it read them as wildcards, which must then be escaped.
 */
async function grantNamesUseWildcards(admin: MysqlSession): Promise<boolean> {
  try {
    const [row] = await admin.execute<{ v: unknown }>('select @@global.partial_revokes as v');
    return !(Number(row?.v) === 1);
  } catch (error) {
    if (error instanceof MysqlError && error.errno === 1193) return true; // MariaDB: unknown system variable
    throw error;
  }
}

/** How many of the user's grants reach beyond USAGE and its own schema (none after a clean setup). */
async function extraGrants(admin: MysqlSession, a: ModuleAccount, host: string): Promise<number> {
  const rows = await admin.execute('show grants for ?@?', [a.user, host]);
  // SHOW GRANTS prints the escaped name (`product\_db`); schema names are [A-Za-z0-9_] only.
  const own = new RegExp(`^GRANT ALL PRIVILEGES ON \`${a.schema.replace(/_/g, '\\\\*_')}\`\\.\\* TO `, 'i');
  return rows
    .flatMap((row) => Object.values(row).map(String))
    .filter((grant) => !/^GRANT USAGE ON \*\.\*/i.test(grant) && !own.test(grant)).length;
}

/**
 * A small SQL session on a mysql:// URL, through MikroORM's MySQL driver (mysql2). Without `database`
 * it uses information_schema, which every account may read, so the URL's path is not required.
 * `secrets` are masked in error messages as a last line of defence.
 */
export async function openMysqlSession(
  location: string,
  options: { database?: string; tls?: MysqlTlsOptions | undefined; secrets?: readonly string[] } = {},
): Promise<MysqlSession> {
  const orm: MikroORM = await openMysql({
    ...mysqlConnection(location, options.tls),
    dbName: options.database ?? 'information_schema',
    entities: [],
    discovery: { warnWhenNoEntities: false },
    debug: false,
    poolSize: 1,
  });
  const secrets = (options.secrets ?? []).filter((s) => s.length > 0);
  const connection = orm.em.getConnection();
  return {
    async execute<T>(sql: string, params: readonly unknown[] = []) {
      try {
        return (await connection.execute(sql, [...params], 'all')) as T[];
      } catch (error) {
        throw sanitized(error, secrets);
      }
    },
    close: () => orm.close(),
  };
}

/** The server's own message and code, without the statement (which may hold a password). */
export class MysqlError extends Error {
  readonly errno: number | undefined;
  readonly code: string | undefined;

  constructor(message: string, errno: number | undefined, code: string | undefined) {
    super(message);
    this.name = 'MysqlError';
    this.errno = errno;
    this.code = code;
  }
}

function sanitized(error: unknown, secrets: readonly string[]): MysqlError {
  const e = error as { sqlMessage?: string; message?: string; errno?: number; code?: string };
  let message = e.sqlMessage ?? e.message ?? String(error);
  for (const secret of secrets) message = message.split(secret).join('***');
  return new MysqlError(message, e.errno, e.code);
}

/** An admin session (see openMysqlSession). */
export const openMysqlAdmin = (adminUrl: string, tls?: MysqlTlsOptions) => openMysqlSession(adminUrl, { tls });
