/**
 * What an operator sees on a machine where the split roles have nothing yet: `services.sh up` provisions the
 * defaults, and a role that cannot open its database (or reach Kafka) exits 1 with one line saying what is
 * wrong and what fixes it. Real processes, real MariaDB/MySQL, Kafka and Redis.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { openMysqlSession } from '../../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import { loadConfig } from '../../src/bootstrap/config.ts';
import { TOPICS } from '../../src/shared/messaging/event-envelope.ts';
import { within } from '../../src/shared/within.ts';
import { hexashop, type RoleProcess, spawnRole } from '../support/cli.ts';
import { deleteNamespace, testKafka } from '../support/kafka.ts';
import { accountUrl, dropAccounts, type MysqlAccount, uniqueSuffix } from '../support/mysql.ts';
import { freePort } from '../support/ports.ts';
import { type IntegrationServices, integrationServices } from '../support/services.ts';

/** A role that cannot start says so soon: within the MySQL driver's connect timeout or kafkajs's retries (~10 s each). */
const EXIT_WITHIN_MS = 30_000;

describe('scripts/services.sh up', function () {
  this.timeout(180_000);

  before(async function () {
    // Only where the suites use the script's services: elsewhere it would start a second set.
    if ((await integrationServices()).source !== 'local services script') this.skip();
  });

  it('runs twice without harm and leaves the default users able to log in and the topics in place', async () => {
    const up = () => promisify(execFile)('bash', ['scripts/services.sh', 'up'], { timeout: 120_000 });
    await up();
    const { stdout } = await up();
    expect(stdout).to.match(
      /^schemas: ready: schemas product_db, order_db, access_db; users hexashop_product, hexashop_order, hexashop_access$/m,
    );
    expect(stdout)
      .to.match(/^topics: verified: /m)
      .and.not.match(/created/);

    const defaults = loadConfig({ env: {} });
    for (const url of [defaults.productDbUrl, defaults.orderDbUrl, defaults.accessDbUrl]) {
      const session = await openMysqlSession(url, { database: new URL(url).pathname.slice(1) });
      try {
        expect(await session.execute('select 1 as one')).to.deep.equal([{ one: 1 }]);
      } finally {
        await session.close();
      }
    }

    const admin = testKafka(defaults.kafkaBrokers).admin();
    await admin.connect();
    try {
      const topics = Object.values(TOPICS).flatMap((topic) => [topic, `${topic}.dlq`]);
      expect(await admin.listTopics()).to.include.members(topics);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('a split role on a database nobody has set up yet', function () {
  this.timeout(120_000);
  const suffix = uniqueSuffix();
  const password = `secret-${suffix}`;
  // hx_t_…: never the default users or schemas, so the machine's own set-up is left alone.
  const product: MysqlAccount = { database: `hx_t_${suffix}_product`, user: `hx_t_${suffix}`, password };
  const order: MysqlAccount = { database: `hx_t_${suffix}_order`, user: `hx_t_${suffix}_o`, password };
  const namespace = `fresh-${suffix}.`;
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-fresh-'));
  const roles: RoleProcess[] = [];
  let services: IntegrationServices;
  let env: NodeJS.ProcessEnv;
  let productDbUrl: string;

  /** `hexashop start --role product --product-db-url URL`, as an operator would run it. */
  const startProduct = async (dbUrl = productDbUrl, args: string[] = []) => {
    const port = await freePort();
    const role = spawnRole('product', port, env, ['--product-db-url', dbUrl, ...args]);
    roles.push(role);
    return { role, url: `http://127.0.0.1:${port}` };
  };

  /** The one line the role printed before exiting with 1. */
  const failure = async (role: RoleProcess): Promise<string> => {
    expect(await within(role.exited, EXIT_WITHIN_MS), role.output()).to.equal(1);
    const lines = role.stderr().trimEnd().split('\n');
    expect(lines, role.output()).to.have.length(1);
    expect(role.output()).not.to.include(password);
    return lines[0]!;
  };

  before(async () => {
    services = await integrationServices();
    productDbUrl = accountUrl(services.mysqlAdminUrl, product);
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HEXASHOP_DATA_DIR: dataDir,
      HEXASHOP_ORDER_DB_URL: accountUrl(services.mysqlAdminUrl, order),
      HEXASHOP_KAFKA_BROKERS: services.kafkaBrokers.join(','),
      HEXASHOP_KAFKA_NAMESPACE: namespace,
      HEXASHOP_REDIS_URL: services.redisUrl,
      HEXASHOP_REDIS_KEY_PREFIX: `fresh-${suffix}:`,
    };
  });

  afterEach(async () => {
    for (const role of roles.splice(0)) await role.stop('SIGKILL');
  });

  after(async () => {
    if (!services) return;
    await dropAccounts(services.mysqlAdminUrl, [product, order]);
    await deleteNamespace(services.kafkaBrokers, namespace);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits 1 with one line naming the schema, the user, "access denied" and the command that fixes it', async () => {
    const { role } = await startProduct();
    const line = await failure(role);
    const { host } = new URL(productDbUrl);
    expect(line).to.include(`user '${product.user}'`).and.include(`schema '${product.database}'`);
    expect(line).to.include(host).and.include('access denied');
    expect(line).to.include('`npx hexashop db setup --admin-url mysql://root@').and.include('--product-db-url');
  });

  it('exits 1 with one line naming the server it cannot reach and what to do', async () => {
    const closed = await freePort();
    const { role } = await startProduct(accountUrl(`mysql://root@127.0.0.1:${closed}`, product));
    const line = await failure(role);
    expect(line).to.include(`127.0.0.1:${closed}: connection refused`).and.include(`user '${product.user}'`);
    expect(line).to.include('start the MySQL server').and.include('--product-db-url');
  });

  it('starts and gets ready once `db setup` created the schema and the user', async () => {
    await hexashop(['db', 'setup', '--admin-url', services.mysqlAdminUrl, '--product-db-url', productDbUrl], env);
    const { role, url } = await startProduct();
    await role.ready(url);
    await role.stop('SIGTERM');
    expect(await role.exited, role.output()).to.equal(0);
  });

  it('exits 1 with one line naming the Kafka broker it cannot reach and what to do', async () => {
    const closed = await freePort();
    const { role } = await startProduct(productDbUrl, ['--kafka-brokers', `127.0.0.1:${closed}`]);
    const line = await failure(role);
    expect(line).to.equal(
      `cannot reach Kafka at 127.0.0.1:${closed}: connection refused; ` +
        'start the broker, or point --kafka-brokers at a running one',
    );
  });
});
