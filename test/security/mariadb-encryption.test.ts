/**
 * Issue 12, MySQL: `scripts/services.sh up-encrypted` starts a second MariaDB (127.0.0.1:3307) with data at
 * rest encrypted (file_key_management; tables FORCE, redo log, binlog, temporary files, Aria) and TLS
 * required. The product role, given only --db-tls-ca-file, connects over verified TLS and stores a product;
 * once its pages are flushed, no file of that server's datadir (table spaces, redo log, binlogs, system
 * table space, Aria logs) holds the product's name. Controls: the same scan finds a marker that this server
 * stores unencrypted (a CSV-engine table, which InnoDB encryption does not cover), and
 * information_schema says each of the product tables is encrypted. Nothing here touches the shared 3306.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { type MysqlSession, openMysqlAdmin, setupMysql } from '../../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import { filesContaining, filesUnder } from '../support/at-rest.ts';
import { recordingLogger, startTestRole } from '../support/roles.ts';
import { createProduct, TEST_SETTINGS } from '../support/shop.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const STATE = join(ROOT, '.cache', 'services', 'mariadb-encrypted');
const DATADIR = join(STATE, 'data');
const CA_FILE = join(STATE, 'tls', 'ca.pem');
const PORT = 3307;
const ADMIN_URL = `mysql://root@127.0.0.1:${PORT}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('encryption at rest and TLS: MariaDB (scripts/services.sh up-encrypted)', function () {
  const suffix = randomBytes(4).toString('hex');
  const productSchema = `enc_product_${suffix}`;
  const orderSchema = `enc_order_${suffix}`;
  const accounts = { product: `enc_p_${suffix}`, order: `enc_o_${suffix}` };
  const password = randomBytes(12).toString('hex');
  const productDbUrl = `mysql://${accounts.product}:${password}@127.0.0.1:${PORT}/${productSchema}`;
  const orderDbUrl = `mysql://${accounts.order}:${password}@127.0.0.1:${PORT}/${orderSchema}`;
  const marker = `Okapi-Secret-${randomBytes(6).toString('hex')}`;
  const controlMarker = `Plain-Control-${randomBytes(6).toString('hex')}`;
  const tls = () => ({ ca: readFileSync(CA_FILE, 'utf8'), rejectUnauthorized: true });
  let admin: MysqlSession;
  let startMs = 0;
  /** Whether this suite started the server (then it stops it: a later run, from any checkout, finds 3307 free). */
  let startedHere = false;

  before(async function () {
    this.timeout(180_000);
    const started = Date.now();
    try {
      const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts/services.sh'), 'up-encrypted'], {
        timeout: 150_000,
      });
      console.log(`      [${stdout.trim()}]`);
      startedHere = stdout.includes('mariadb-encrypted: started');
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`scripts/services.sh up-encrypted failed: ${e.stderr?.trim() || e.message}`);
    }
    startMs = Date.now() - started;
    admin = await openMysqlAdmin(ADMIN_URL, tls());
    await setupMysql({ adminUrl: ADMIN_URL, productDbUrl, orderDbUrl, tls: tls(), logger: recordingLogger() });
  });

  after(async function () {
    this.timeout(120_000);
    if (admin) {
      for (const schema of [productSchema, orderSchema]) await admin.execute(`drop database if exists \`${schema}\``);
      for (const user of Object.values(accounts))
        for (const host of ['%', 'localhost']) await admin.execute('drop user if exists ?@?', [user, host]);
      await admin.close();
    }
    if (startedHere) {
      await promisify(execFile)('bash', [join(ROOT, 'scripts/services.sh'), 'down-encrypted'], { timeout: 90_000 });
    }
  });

  it('the script is idempotent: a second run finds the server running', async () => {
    const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts/services.sh'), 'up-encrypted']);
    expect(stdout).to.match(/mariadb-encrypted: already running/);
    console.log(`      [first up-encrypted in this run: ${startMs} ms]`);
  });

  it('the server runs with every at-rest encryption setting on', async () => {
    const rows = await admin.execute<{ Variable_name: string; Value: string }>(
      `show global variables where variable_name in ('innodb_encrypt_tables', 'innodb_encrypt_log',
        'encrypt_binlog', 'log_bin', 'encrypt_tmp_files', 'aria_encrypt_tables', 'require_secure_transport',
        'innodb_encrypt_temporary_tables')`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value]))).to.deep.equal({
      aria_encrypt_tables: 'ON',
      encrypt_binlog: 'ON',
      encrypt_tmp_files: 'ON',
      innodb_encrypt_log: 'ON',
      innodb_encrypt_tables: 'FORCE',
      innodb_encrypt_temporary_tables: 'ON',
      log_bin: 'ON',
      require_secure_transport: 'ON',
    });
  });

  it('refuses a connection without TLS', async () => {
    const attempt = mysql.createConnection({ host: '127.0.0.1', port: PORT, user: 'root', ssl: undefined });
    const error = await attempt.then(
      async (c) => {
        await c.end();
        return undefined;
      },
      (e: { code?: string; message: string }) => e,
    );
    expect(error, 'a plain connection was accepted').to.not.equal(undefined);
    // MariaDB refuses insecure transport at login (ER_SECURE_TRANSPORT_REQUIRED, or access denied on some builds).
    expect(`${error?.code} ${error?.message}`).to.match(/SECURE_TRANSPORT|insecure transport|ACCESS_DENIED/i);
  });

  it('refuses a TLS connection whose server certificate is not verified by the CA (no CA given)', async () => {
    const error = await mysql
      .createConnection({ host: '127.0.0.1', port: PORT, user: 'root', ssl: { rejectUnauthorized: true } })
      .then(
        async (c) => {
          await c.end();
          return undefined;
        },
        (e: Error) => e,
      );
    expect(error?.message).to.match(/self[- ]signed|unable to verify|certificate/i);
  });

  it('the product role without --db-tls-ca-file cannot start against it', async () => {
    const error = await startTestRole({ role: 'product', storage: 'mysql', productDbUrl, orderDbUrl }).then(
      async (role) => {
        await role.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(error?.message).to.match(/cannot open the product database/);
    expect(error?.message).to.not.include(password);
  });

  it('with the CA, a verified TLS session: Ssl_cipher is set', async () => {
    const rows = await admin.execute<{ Value: string }>("show session status like 'Ssl_cipher'");
    expect(rows[0]?.Value).to.be.a('string').and.not.equal('');
  });

  it('the product role (--db-tls-ca-file) stores a product; no datadir file holds its name', async function () {
    const role = await startTestRole({
      role: 'product',
      storage: 'mysql',
      productDbUrl,
      orderDbUrl,
      dbTlsCaFile: CA_FILE,
      ...TEST_SETTINGS,
    });
    const binlogBefore = await binlogPosition();
    try {
      // The server takes TCP over TLS only (require_secure_transport), so this write went over verified TLS.
      await createProduct(role, { name: marker, description: `about ${marker}`, sku: `SKU-${marker}` });
    } finally {
      await role.stop();
    }
    const stored = await admin.execute<{ n: number }>(
      `select count(*) as n from \`${productSchema}\`.products where name = ?`,
      [marker],
    );
    expect(Number(stored[0]?.n)).to.equal(1);
    // The insert reached the (encrypted) binlog: its position moved.
    expect(await binlogPosition()).to.not.deep.equal(binlogBefore);

    // Control: a CSV table (not covered by InnoDB encryption) in the same datadir.
    await admin.execute(`create table \`${productSchema}\`.plain_control (v varchar(64) not null) engine=CSV`);
    await admin.execute(`insert into \`${productSchema}\`.plain_control values (?)`, [controlMarker]);

    await flushToDisk();

    const tables = await admin.execute<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = ? and engine = 'InnoDB'",
      [productSchema],
    );
    expect(tables.map((t) => t.name)).to.include('products');
    const encrypted = await admin.execute<{ name: string; scheme: number; version: number }>(
      `select name, encryption_scheme as scheme, current_key_version as version
         from information_schema.innodb_tablespaces_encryption where name like ?`,
      [`${productSchema}/%`],
    );
    for (const t of tables) {
      const row = encrypted.find((e) => e.name === `${productSchema}/${t.name}`);
      expect(row, `${t.name} is not listed as encrypted`).to.not.equal(undefined);
      expect(Number(row?.scheme)).to.equal(1);
      expect(Number(row?.version)).to.be.greaterThan(0);
    }

    const files = filesUnder(DATADIR).map((f) => f.slice(DATADIR.length + 1));
    expect(files).to.include.members(['ib_logfile0', 'ibdata1', `${productSchema}/products.ibd`]);
    expect(files.some((f) => /^binlog\.\d+$/.test(f))).to.equal(true);
    // The scanner works on this datadir: it finds what the server stored in plaintext…
    expect(filesContaining(DATADIR, controlMarker)).to.deep.equal([`${productSchema}/plain_control.CSV`]);
    // …and nothing of the product, anywhere (table spaces, redo, binlog, undo, Aria).
    expect(filesContaining(DATADIR, marker)).to.deep.equal([]);
  });

  async function binlogPosition() {
    const [row] = await admin.execute<{ File: string; Position: number }>('show master status');
    return { file: row?.File, position: Number(row?.Position) };
  }

  /**
   * Makes the on-disk state deterministic: FLUSH TABLES … FOR EXPORT writes every dirty page of those tables
   * to their .ibd files before it returns; the redo log and binlog were written at commit
   * (innodb_flush_log_at_trx_commit=1); then the rest of the buffer pool is flushed too (system table space,
   * undo), waiting until no dirty page is left.
   */
  async function flushToDisk() {
    const tables = await admin.execute<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = ? and engine = 'InnoDB'",
      [productSchema],
    );
    const list = tables.map((t) => `\`${productSchema}\`.\`${t.name}\``).join(', ');
    await admin.execute(`flush tables ${list} for export`);
    await admin.execute('unlock tables');
    await admin.execute('flush tables');
    await admin.execute('flush binary logs');
    const [pct] = await admin.execute<{ v: string }>('select @@global.innodb_max_dirty_pages_pct as v');
    await admin.execute('set global innodb_max_dirty_pages_pct = 0');
    try {
      for (let i = 0; i < 100; i++) {
        const [dirty] = await admin.execute<{ Value: string }>(
          "show global status like 'Innodb_buffer_pool_pages_dirty'",
        );
        if (Number(dirty?.Value) === 0) break;
        await sleep(100);
      }
    } finally {
      await admin.execute(`set global innodb_max_dirty_pages_pct = ${Number(pct?.v ?? 90)}`);
    }
  }
});
