import { randomBytes } from 'node:crypto';
import { openMysqlAdmin } from '../../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import { integrationServices } from './services.ts';

/** A short random suffix for database and user names tests create (lowercase: portable identifiers). */
export const uniqueSuffix = () => randomBytes(5).toString('hex');

/** The integration MySQL admin URL with its path replaced by `database`. */
export function withDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface MysqlAccount {
  database: string;
  user: string;
  password: string;
}

/** The URL an account connects with: the admin URL's server, with the account's user, password and database. */
export function accountUrl(adminUrl: string, account: MysqlAccount): string {
  const url = new URL(withDatabase(adminUrl, account.database));
  url.username = account.user;
  url.password = encodeURIComponent(account.password); // the setter leaves '%' alone
  return url.toString();
}

/** Drops the accounts' databases and their users, for every host `db setup` creates them for. */
export async function dropAccounts(
  adminUrl: string,
  accounts: readonly Pick<MysqlAccount, 'database' | 'user'>[],
): Promise<void> {
  const admin = await openMysqlAdmin(adminUrl);
  try {
    for (const { database, user } of accounts) {
      await admin.execute(`drop database if exists \`${database}\``);
      for (const host of ['%', 'localhost']) await admin.execute('drop user if exists ?@?', [user, host]);
    }
  } finally {
    await admin.close();
  }
}

/** An empty database named `t_<prefix>_<random>`, reached as the admin user; drop() removes it. */
export async function freshMysqlDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { mysqlAdminUrl } = await integrationServices();
  const name = `t_${prefix}_${uniqueSuffix()}`;
  const admin = await openMysqlAdmin(mysqlAdminUrl);
  try {
    await admin.execute(`create database ${name} character set utf8mb4 collate utf8mb4_bin`);
  } finally {
    await admin.close();
  }
  return {
    url: withDatabase(mysqlAdminUrl, name),
    drop: async () => {
      const again = await openMysqlAdmin(mysqlAdminUrl);
      try {
        await again.execute(`drop database if exists ${name}`);
      } finally {
        await again.close();
      }
    },
  };
}
