import { expect } from 'chai';
import { DatabaseUnavailable } from '../../src/adapters/persistence/mikro-orm/database-unavailable.ts';
import {
  MysqlError,
  type MysqlSession,
  openMysqlAdmin,
  openMysqlSession,
  setupMysql,
} from '../../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import type { Logger } from '../../src/shared/logger.port.ts';
import { accountUrl, dropAccounts, type MysqlAccount, uniqueSuffix } from '../support/mysql.ts';
import { integrationServices } from '../support/services.ts';

const HOSTS = ['%', 'localhost'];

/** Rejects with the server's error number (on a statement, or on logging in), or fails. */
async function errnoOf(work: Promise<unknown>): Promise<number | undefined> {
  try {
    await work;
  } catch (error) {
    if (error instanceof DatabaseUnavailable) return error.errno;
    expect(error).to.be.instanceOf(MysqlError);
    return (error as MysqlError).errno;
  }
  return expect.fail('expected the server to refuse');
}

function recordingLogger() {
  const lines: unknown[] = [];
  const logger: Logger = {
    info: (message, meta) => lines.push(['info', message, meta]),
    http: (message, meta) => lines.push(['http', message, meta]),
    warn: (message, meta) => lines.push(['warn', message, meta]),
    error: (message, meta) => lines.push(['error', message, meta]),
    debug: (message, meta) => lines.push(['debug', message, meta]),
  };
  return { logger, lines };
}

describe('setupMysql: schemas and least-privilege users', function () {
  this.timeout(60_000);
  const suffix = uniqueSuffix();
  // Quotes, @, : and % in the passwords exercise both URL decoding and SQL escaping.
  const product: MysqlAccount = { database: `t_sp_${suffix}`, user: `t_p_${suffix}`, password: `p'w@:%"${suffix}` };
  const order: MysqlAccount = { database: `t_so_${suffix}`, user: `t_o_${suffix}`, password: `o'w@:%"${suffix}` };
  let adminUrl: string;
  let admin: MysqlSession;
  const sessions: MysqlSession[] = [];

  const urlOf = (a: MysqlAccount, password = a.password) => accountUrl(adminUrl, { ...a, password });
  const setup = (logger: Logger, productDbUrl = urlOf(product)) =>
    setupMysql({ adminUrl, productDbUrl, orderDbUrl: urlOf(order), logger });
  const sessionAs = async (a: MysqlAccount, database: string, password = a.password) => {
    const session = await openMysqlSession(urlOf(a, password), { database });
    sessions.push(session);
    return session;
  };

  before(async () => {
    adminUrl = (await integrationServices()).mysqlAdminUrl;
    admin = await openMysqlAdmin(adminUrl);
  });

  afterEach(async () => {
    for (const session of sessions.splice(0)) await session.close();
  });

  after(async () => {
    if (!admin) return;
    await admin.close();
    await dropAccounts(adminUrl, [product, order]);
  });

  it('creates each schema and a user who can work in its own schema and nowhere else', async () => {
    const { logger, lines } = recordingLogger();
    expect(await setup(logger)).to.deep.equal({
      schemas: [product.database, order.database],
      users: [product.user, order.user],
    });

    const mine = await sessionAs(product, product.database);
    await mine.execute('create table widgets (id int primary key, name varchar(20))');
    await mine.execute('insert into widgets values (1, ?)', ['first']);
    expect(await mine.execute('select name from widgets')).to.deep.equal([{ name: 'first' }]);

    await admin.execute(`create table \`${order.database}\`.orders_probe (id int primary key)`);
    // 1142: table access denied; 1044: database access denied.
    expect(await errnoOf(mine.execute(`select * from \`${order.database}\`.orders_probe`))).to.equal(1142);
    expect(await errnoOf(mine.execute(`create table \`${order.database}\`.intruder (id int)`))).to.equal(1142);
    expect(await errnoOf(mine.execute(`drop database \`${order.database}\``))).to.equal(1044);
    expect(await errnoOf(mine.execute('select user from mysql.user'))).to.equal(1142);
    expect(await errnoOf(sessionAs(product, order.database))).to.equal(1044);

    // The order user, symmetrically, may not read product tables.
    const theirs = await sessionAs(order, order.database);
    expect(await theirs.execute('select count(*) as n from orders_probe')).to.deep.equal([{ n: 0 }]);
    expect(await errnoOf(theirs.execute(`select * from \`${product.database}\`.widgets`))).to.equal(1142);

    // Nothing global: USAGE on *.* and ALL on its own schema, for each host.
    for (const host of HOSTS) {
      const grants = (await admin.execute('show grants for ?@?', [product.user, host])).flatMap(Object.values);
      expect(grants).to.have.length(2);
      expect(grants.join('\n')).to.match(/GRANT USAGE ON \*\.\* TO/);
      expect(grants.join('\n')).not.to.match(/WITH GRANT OPTION/);
    }

    const logged = JSON.stringify(lines);
    expect(logged).to.include(product.database).and.include(order.user);
    expect(logged).not.to.include(product.password);
    expect(logged).not.to.include(order.password);
    expect(lines.filter((l) => (l as unknown[])[0] === 'warn')).to.deep.equal([]);
  });

  it('runs again without harm, keeps the data, and resets a changed password', async () => {
    const { logger, lines } = recordingLogger();
    await setup(logger);
    await setup(logger);
    const mine = await sessionAs(product, product.database);
    expect(await mine.execute('select name from widgets')).to.deep.equal([{ name: 'first' }]);

    const rotated = `rotated-${suffix}`;
    await setup(logger, urlOf(product, rotated));
    expect(await errnoOf(sessionAs(product, product.database))).to.equal(1045);
    const renewed = await sessionAs(product, product.database, rotated);
    expect(await renewed.execute('select 1 as one')).to.deep.equal([{ one: 1 }]);
    expect(JSON.stringify(lines)).not.to.include(rotated);
    await setup(logger); // back to the original password for the next test
  });

  it('warns, without revoking, about privileges beyond the own schema', async () => {
    await admin.execute(`grant select on \`${order.database.replace(/_/g, '\\_')}\`.* to ?@?`, [product.user, '%']);
    try {
      const { logger, lines } = recordingLogger();
      await setup(logger);
      expect(lines).to.deep.include([
        'warn',
        'mysql setup: user has privileges beyond its own schema; revoke them',
        { code: 'MYSQL_EXTRA_GRANTS', user: product.user, host: '%', extraGrants: 1 },
      ]);
    } finally {
      await admin.execute(`revoke select on \`${order.database.replace(/_/g, '\\_')}\`.* from ?@?`, [
        product.user,
        '%',
      ]);
    }
  });

  it('refuses a shared user or schema, or the admin user as a module user, and keeps passwords out of errors', async () => {
    const { logger } = recordingLogger();
    const refused = async (productDbUrl: string, orderDbUrl = urlOf(order)) => {
      try {
        await setupMysql({ adminUrl, productDbUrl, orderDbUrl, logger });
      } catch (error) {
        return (error as Error).message;
      }
      return expect.fail('expected setup to refuse');
    };
    expect(await refused(urlOf({ ...order, user: product.user }))).to.match(/separate schemas/);
    expect(await refused(urlOf({ ...product, user: order.user }))).to.match(/separate users/);
    const adminUser = decodeURIComponent(new URL(adminUrl).username);
    expect(await refused(urlOf({ ...product, user: adminUser }))).to.match(/must not be the admin user/);
    expect(await refused(urlOf({ ...product, database: 'bad-name' }))).to.match(/must name a schema/);

    // A server-side failure: the admin URL points at a user that cannot log in.
    const badAdmin = new URL(adminUrl);
    badAdmin.username = `t_none_${suffix}`;
    badAdmin.password = 'wrong';
    let message = '';
    try {
      await setupMysql({
        adminUrl: badAdmin.toString(),
        productDbUrl: urlOf(product),
        orderDbUrl: urlOf(order),
        logger,
      });
    } catch (error) {
      message = String((error as Error).message) + JSON.stringify(error);
    }
    expect(message).to.match(/denied/i);
    expect(message).not.to.include(product.password);
  });
});
