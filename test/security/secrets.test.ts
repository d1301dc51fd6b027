/**
 * Issue 12: no secret reaches an operator's eyes or a scraper. Distinctive secrets are given the ways an
 * operator gives them (environment, flags, `…_FILE`), and the real CLI is run as a child process; what it
 * prints, logs and serves must hold none of them.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { call } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { spawnRole } from '../support/cli.ts';

/** Each secret carries a random core of its own: a leak of any part of it, encoded or not, is caught. */
const core = () => randomBytes(8).toString('hex');
const SECRETS = {
  jwtSecret: `jwt-${core()}-signing-key-of-enough-length`,
  productDbPassword: `pdb${core()}`,
  orderDbPassword: `odb${core()}`,
  redisPassword: `rds${core()}`,
  adminApiKey: `adm-${core()}-api-key-secret-long-enough`,
  customerApiKey: `cus-${core()}-api-key-secret-long-enough`,
};
const cores = Object.values(SECRETS).map((s) => /[0-9a-f]{16}/.exec(s)![0]);

/** The secrets (by their core) that `text` gives away. */
const leaked = (text: string) => cores.filter((c) => text.includes(c));

const ISSUER = 'hexashop';
const AUDIENCE = 'hexashop-api';
const sign = (secret: string, sub: string, role: 'admin' | 'customer') =>
  jwt.sign({ role }, secret, { subject: sub, issuer: ISSUER, audience: AUDIENCE, expiresIn: 600, algorithm: 'HS256' });

/** This process's environment without any HEXASHOP_ setting, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEXASHOP_')));
  return { ...env, ...extra };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `hexashop …` to completion, whatever its exit code. */
async function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/hexashop.js', ...args], {
      env,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('security: secrets stay secret', function () {
  this.timeout(120_000);
  let dir: string;
  let closedPort: number;
  const mysqlUrl = (password: string, schema: string, port = 3306) =>
    `mysql://shop:${password}@127.0.0.1:${port}/${schema}`;
  const apiKeys = `ci:admin:${SECRETS.adminApiKey},bot:customer:${SECRETS.customerApiKey}`;
  /** Every secret setting, through the environment. */
  const secretEnv = () => ({
    HEXASHOP_JWT_SECRET: SECRETS.jwtSecret,
    HEXASHOP_PRODUCT_DB_URL: mysqlUrl(SECRETS.productDbPassword, 'product_db'),
    HEXASHOP_ORDER_DB_URL: mysqlUrl(SECRETS.orderDbPassword, 'order_db'),
    HEXASHOP_REDIS_URL: `redis://:${SECRETS.redisPassword}@127.0.0.1:${closedPort}`,
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hexashop-secrets-'));
    closedPort = await freePort();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('the CLI', () => {
    it('config print shows every secret setting redacted, given by environment, flag or file', async () => {
      const printed = await run(
        ['config', 'print', '--data-dir', dir, '--api-keys', apiKeys],
        cleanEnv({ ...secretEnv() }),
      );
      expect(printed.code, printed.stderr).to.equal(0);
      const config = JSON.parse(printed.stdout) as Record<string, unknown>;
      expect(config.jwtSecret).to.equal('***');
      expect(config.productDbUrl).to.equal('mysql://shop:***@127.0.0.1:3306/product_db');
      expect(config.redisUrl).to.equal(`redis://:***@127.0.0.1:${closedPort}`);
      expect(leaked(printed.stdout + printed.stderr)).to.deep.equal([]);

      const files = {
        HEXASHOP_JWT_SECRET_FILE: secretFile('jwt', SECRETS.jwtSecret),
        HEXASHOP_PRODUCT_DB_URL_FILE: secretFile('pdb', mysqlUrl(SECRETS.productDbPassword, 'product_db')),
        HEXASHOP_ORDER_DB_URL_FILE: secretFile('odb', mysqlUrl(SECRETS.orderDbPassword, 'order_db')),
        HEXASHOP_REDIS_URL_FILE: secretFile('rds', `redis://:${SECRETS.redisPassword}@127.0.0.1:${closedPort}`),
      };
      const fromFiles = await run(
        ['config', 'print', '--data-dir', dir, '--api-keys-file', secretFile('keys', apiKeys)],
        cleanEnv(files),
      );
      expect(fromFiles.code, fromFiles.stderr).to.equal(0);
      expect(JSON.parse(fromFiles.stdout)).to.deep.equal(config);
      expect(leaked(fromFiles.stdout + fromFiles.stderr)).to.deep.equal([]);
    });

    it('config validate names a bad setting next to secrets, and a bad secret, without their values', async () => {
      const bad = await run(
        [
          'config',
          'validate',
          '--port',
          'not-a-port',
          // An API key entry that does not parse, and a database URL of the wrong scheme: both hold secrets.
          '--api-keys',
          `ci:admin:${SECRETS.adminApiKey},bot:nobody:${SECRETS.customerApiKey}`,
          '--order-db-url',
          `postgres://shop:${SECRETS.orderDbPassword}@127.0.0.1/order_db`,
        ],
        cleanEnv(secretEnv()),
      );
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/invalid setting --port \(HEXASHOP_PORT\)/);
      expect(bad.stderr).to.match(/invalid setting --api-keys \(HEXASHOP_API_KEYS\): entry 2/);
      expect(bad.stderr).to.match(/invalid setting --order-db-url \(HEXASHOP_ORDER_DB_URL\)/);
      expect(leaked(bad.stdout + bad.stderr)).to.deep.equal([]);
    });

    it('config validate does not quote a config file that is not valid JSON', async () => {
      const file = secretFile('config.json', `{"jwtSecret": ${SECRETS.jwtSecret}}`);
      const bad = await run(['config', 'validate', '--config', file], cleanEnv());
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.include('not valid JSON');
      expect(leaked(bad.stdout + bad.stderr)).to.deep.equal([]);
    });

    it('a database with a password that cannot be reached fails the start without the password', async () => {
      const failed = await run(
        ['start', '--role', 'product', '--storage', 'mysql', '--bus', 'in-process', '--data-dir', dir],
        cleanEnv({
          ...secretEnv(),
          HEXASHOP_PORT: String(await freePort()),
          HEXASHOP_PRODUCT_DB_URL: mysqlUrl(SECRETS.productDbPassword, 'product_db', closedPort),
        }),
      );
      expect(failed.code, failed.stderr).to.equal(1);
      expect(failed.stderr).to.include(`cannot open the product database at 127.0.0.1:${closedPort}`);
      expect(failed.stderr).to.include('connection refused');
      expect(leaked(failed.stdout + failed.stderr)).to.deep.equal([]);
    });

    it('refuses a secret and its file both, exit 2, naming both and neither value', async () => {
      const both = await run(
        ['config', 'validate'],
        cleanEnv({
          HEXASHOP_JWT_SECRET: SECRETS.jwtSecret,
          HEXASHOP_JWT_SECRET_FILE: secretFile('jwt', SECRETS.jwtSecret),
        }),
      );
      expect(both.code).to.equal(2);
      expect(both.stderr).to.include('set both HEXASHOP_JWT_SECRET and HEXASHOP_JWT_SECRET_FILE: choose one');
      expect(leaked(both.stdout + both.stderr)).to.deep.equal([]);

      const acrossLayers = await run(
        ['start', '--role', 'monolith', '--data-dir', dir, '--jwt-secret-file', secretFile('jwt', SECRETS.jwtSecret)],
        cleanEnv({ HEXASHOP_JWT_SECRET: SECRETS.jwtSecret, HEXASHOP_PORT: String(await freePort()) }),
      );
      expect(acrossLayers.code).to.equal(2);
      expect(acrossLayers.stderr).to.include('set both HEXASHOP_JWT_SECRET and --jwt-secret-file: choose one');
    });

    it('db setup takes its admin URL from a file too, never both, and never prints it', async () => {
      const adminUrl = mysqlUrl(SECRETS.productDbPassword, 'mysql', closedPort);
      const both = await run(
        ['db', 'setup', '--admin-url-file', secretFile('admin', adminUrl)],
        cleanEnv({ HEXASHOP_DB_ADMIN_URL: adminUrl }),
      );
      expect(both.code).to.equal(2);
      expect(both.stderr).to.include('--admin-url (HEXASHOP_DB_ADMIN_URL): set both');
      // From the file alone it is used: the server it names is down, and the error says so without the password.
      const fromFile = await run(['db', 'setup', '--admin-url-file', secretFile('admin', adminUrl)], cleanEnv({}));
      expect(fromFile.code).to.not.equal(0);
      expect(fromFile.stderr).to.match(new RegExp(`${closedPort}|ECONNREFUSED|refused`));
      expect(leaked(both.stdout + both.stderr + fromFile.stdout + fromFile.stderr)).to.deep.equal([]);
    });

    it('start --help lists the file variant of every secret', async () => {
      const help = await run(['start', '--help'], cleanEnv());
      for (const flag of ['--jwt-secret-file', '--product-db-url-file', '--redis-url-file', '--api-keys-file']) {
        expect(help.stdout).to.include(flag);
      }
      expect(help.stdout).to.include('HEXASHOP_JWT_SECRET_FILE');
    });
  });

  describe('a running monolith, its secrets from files and flags', () => {
    let role: ReturnType<typeof spawnRole>;
    let url: string;
    let metrics: string;

    before(async () => {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const { HEXASHOP_JWT_SECRET: _fromFile, ...rest } = secretEnv();
      role = spawnRole(
        'monolith',
        port,
        cleanEnv({ ...rest, HEXASHOP_JWT_SECRET_FILE: secretFile('jwt-secret', `${SECRETS.jwtSecret}\n`) }),
        ['--log-level', 'debug', '--data-dir', mkdtempSync(join(dir, 'data-')), '--api-keys', apiKeys],
      );
      await role.ready(url);
    });
    after(() => role?.stop());

    it('accepts tokens signed with the secret from HEXASHOP_JWT_SECRET_FILE, and refuses others', async () => {
      const customer = sign(SECRETS.jwtSecret, 'customer-1', 'customer');
      const accepted = await call(url, 'GET', '/api/v1/orders', { token: customer });
      expect(accepted.status, JSON.stringify(accepted.body)).to.equal(200);
      const forged = sign(`forged-${core()}-signing-key-of-enough-length`, 'customer-1', 'customer');
      expect((await call(url, 'GET', '/api/v1/orders', { token: forged })).status).to.equal(401);
    });

    it('writes no secret to its log, debug included, nor a refused key or token', async () => {
      const refusedKey = `refused-${core()}-api-key-secret-long-enough`;
      const refusedToken = sign(`refused-${core()}-signing-key-of-enough-length`, 'intruder', 'admin');
      const refusedCores = [refusedKey, refusedToken].map((s) => s.slice(-24));
      expect((await call(url, 'GET', '/api/v1/products', { headers: { 'x-api-key': refusedKey } })).status).to.equal(
        401,
      );
      expect((await call(url, 'GET', '/api/v1/orders', { token: refusedToken })).status).to.equal(401);
      const admin = { headers: { 'x-api-key': SECRETS.adminApiKey } };
      const product = { sku: `SEC-${core()}`, name: 'Secret', priceCents: 100, currency: 'EUR', stock: 1 };
      expect((await call(url, 'POST', '/api/v1/products', { ...admin, body: product })).status).to.equal(201);
      expect(
        (await call(url, 'GET', '/api/v1/orders', { headers: { 'x-api-key': SECRETS.customerApiKey } })).status,
      ).to.equal(200);
      const bad = sign(SECRETS.jwtSecret, 'customer-2', 'customer').slice(0, -3);
      expect((await call(url, 'GET', '/api/v1/orders', { token: bad })).status).to.equal(401);
      metrics = (await call<string>(url, 'GET', '/metrics')).body;
      await role.stop();
      const log = role.stderr();
      expect(log, 'the debug log is not empty').to.include('"level":"debug"');
      expect(leaked(log)).to.deep.equal([]);
      for (const refused of refusedCores) expect(log).to.not.include(refused);
    });

    it('serves no secret on /metrics', () => {
      expect(metrics).to.include('# TYPE');
      expect(leaked(metrics)).to.deep.equal([]);
    });
  });

  function secretFile(name: string, content: string): string {
    const path = join(dir, `${name}-${core()}`);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  }
});
