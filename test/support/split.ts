import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Principal, signToken } from '../../src/edge/http/auth.ts';
import { hexashop, type RoleProcess, spawnRole } from './cli.ts';
import { deleteNamespace } from './kafka.ts';
import { freePort } from './ports.ts';
import { accountUrl, dropAccounts, type MysqlAccount, uniqueSuffix } from './mysql.ts';
import { integrationServices } from './services.ts';

export type SplitRole = 'product' | 'order' | 'gateway';

export interface SplitTopology {
  /** The gateway: the public API. */
  url: string;
  /** The Kafka namespace (topic and group prefix) of this topology. */
  namespace: string;
  urls: Record<SplitRole, string>;
  token(principal: Principal, ttlSeconds?: number): string;
  /** SIGKILL a role's process (no graceful shutdown: a crash). */
  kill(role: SplitRole): Promise<void>;
  /** SIGTERM a role's process (graceful shutdown) and wait for it: its exit code and everything it wrote. */
  terminate(role: SplitRole): Promise<{ code: number | null; output: string }>;
  /** Start a killed or stopped role again, on the same port, database and topics. */
  start(role: SplitRole): Promise<void>;
  /** Everything each role wrote to stdout/stderr, for failure messages. */
  logs(role: SplitRole): string;
  /**
   * Every product instance: `urls.product` first, then those `extraProducts` asked for (same database, Kafka
   * namespace and Redis prefix), all of them the gateway's upstreams.
   */
  productUrls: string[];
  /** Another gateway process on a free port, with the same settings (same access_db, Redis, upstreams). */
  startAnotherGateway(): Promise<{ url: string; stop(): Promise<void>; logs(): string }>;
  dispose(): Promise<void>;
}

export interface IsolatedServices {
  mysqlAdminUrl: string;
  kafkaBrokers: string[];
  redisUrl: string;
}

/**
 * A split platform's own corner of shared servers: schemas and users of its own (`<prefix>_<module>_<id>`), a
 * Kafka namespace and a Redis key prefix, and a data dir. `env` holds the settings every role needs for them
 * (callers add ports, upstreams, keys); `provision()` runs `db setup` and `kafka topics`; `dispose()` removes
 * all of it.
 */
export interface IsolatedSplit {
  suffix: string;
  namespace: string;
  dataDir: string;
  accounts: Record<'product' | 'order' | 'access', MysqlAccount>;
  env: NodeJS.ProcessEnv;
  provision(): Promise<void>;
  dispose(): Promise<void>;
}

export function isolatedSplit(services: IsolatedServices, prefix: string): IsolatedSplit {
  const suffix = uniqueSuffix();
  const namespace = `${prefix}-${suffix}.`;
  const dataDir = mkdtempSync(join(tmpdir(), `hexashop-${prefix}-`));
  const account = (module: string): MysqlAccount => {
    const name = `${prefix.replace(/\W/g, '_')}_${module}_${suffix}`;
    return { database: name, user: name, password: `pw-${suffix}` };
  };
  const accounts = { product: account('product'), order: account('order'), access: account('access') };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HEXASHOP_STORAGE: 'mysql',
    HEXASHOP_BUS: 'kafka',
    HEXASHOP_DATA_DIR: dataDir,
    HEXASHOP_PRODUCT_DB_URL: accountUrl(services.mysqlAdminUrl, accounts.product),
    HEXASHOP_ORDER_DB_URL: accountUrl(services.mysqlAdminUrl, accounts.order),
    HEXASHOP_ACCESS_DB_URL: accountUrl(services.mysqlAdminUrl, accounts.access),
    HEXASHOP_KAFKA_BROKERS: services.kafkaBrokers.join(','),
    HEXASHOP_KAFKA_NAMESPACE: namespace,
    HEXASHOP_REDIS_URL: services.redisUrl,
    HEXASHOP_REDIS_KEY_PREFIX: `${prefix}-${suffix}:`,
  };
  return {
    suffix,
    namespace,
    dataDir,
    accounts,
    env,
    provision: async () => {
      await hexashop(['db', 'setup', '--admin-url', services.mysqlAdminUrl], env);
      await hexashop(['kafka', 'topics'], env);
    },
    dispose: async () => {
      await dropAccounts(services.mysqlAdminUrl, Object.values(accounts));
      await deleteNamespace(services.kafkaBrokers, namespace);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const JWT_SECRET = 'e2e-only-signing-key-of-enough-length-0123456789';
const JWT = { secret: JWT_SECRET, issuer: 'hexashop', audience: 'hexashop-api' };

/**
 * Starts the three roles as real processes on MySQL, Kafka and Redis, isolated from anything else on the
 * same servers: own schemas and users, own Kafka namespace (topics and groups), own Redis key prefix.
 */
export async function startSplit(
  settings: Record<string, string> = {},
  /** Settings for one role only (e.g. the private key only the order role may hold), also without `HEXASHOP_`. */
  roleSettings: Partial<Record<SplitRole, Record<string, string>>> = {},
  /** More product instances, each with its own settings (without `HEXASHOP_`) on top of the product role's. */
  { extraProducts = [] }: { extraProducts?: Record<string, string>[] } = {},
): Promise<SplitTopology> {
  const services = await integrationServices();
  const isolated = isolatedSplit(services, 'e2e');
  const ports: Record<SplitRole, number> = {
    product: await freePort(),
    order: await freePort(),
    gateway: await freePort(),
  };
  const urls = Object.fromEntries(Object.entries(ports).map(([r, p]) => [r, `http://127.0.0.1:${p}`])) as Record<
    SplitRole,
    string
  >;
  const extraProductPorts = await Promise.all(extraProducts.map(() => freePort()));
  const productUrls = [urls.product, ...extraProductPorts.map((p) => `http://127.0.0.1:${p}`)];
  const env: NodeJS.ProcessEnv = {
    ...isolated.env,
    // The suites poll; only the rate-limit suite (which sets its own) may ever see a 429.
    HEXASHOP_RATE_LIMIT_READ: '1000000',
    HEXASHOP_RATE_LIMIT_WRITE: '1000000',
    HEXASHOP_PRODUCT_URL: urls.product,
    HEXASHOP_PRODUCT_UPSTREAMS: productUrls.join(','),
    HEXASHOP_ORDER_UPSTREAMS: urls.order,
    HEXASHOP_JWT_SECRET: JWT_SECRET,
    HEXASHOP_LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`HEXASHOP_${k}`, v])),
  };
  await hexashop(['db', 'setup', '--admin-url', services.mysqlAdminUrl], env);
  await hexashop(['kafka', 'topics'], env);

  // Every process each role ran as (start() after kill() adds one); the last is the current one.
  const runs: Record<SplitRole, RoleProcess[]> = { product: [], order: [], gateway: [] };

  const start = async (role: SplitRole) => {
    const only = Object.entries(roleSettings[role] ?? {}).map(([k, v]) => [`HEXASHOP_${k}`, v]);
    const run = spawnRole(role, ports[role], { ...env, ...Object.fromEntries(only) });
    runs[role].push(run);
    await run.ready(urls[role]);
  };

  const stopProcess = async (role: SplitRole, signal: NodeJS.Signals) => runs[role].at(-1)?.stop(signal);
  const roles = ['product', 'order', 'gateway'] as const;
  const extraGateways: RoleProcess[] = [];
  const extraProductRuns: RoleProcess[] = [];
  const startExtraProducts = async () => {
    for (const [i, port] of extraProductPorts.entries()) {
      const only = { ...roleSettings.product, ...extraProducts[i] };
      const run = spawnRole('product', port, {
        ...env,
        ...Object.fromEntries(Object.entries(only).map(([k, v]) => [`HEXASHOP_${k}`, v])),
      });
      extraProductRuns.push(run);
      await run.ready(productUrls[i + 1]!);
    }
  };

  try {
    // The first product instance migrates product_db; the others start on it, before the gateway.
    await start('product');
    await startExtraProducts();
    await start('order');
    await start('gateway');
  } catch (error) {
    for (const role of roles) await stopProcess(role, 'SIGKILL');
    for (const run of extraProductRuns) await run.stop('SIGKILL');
    throw error;
  }

  return {
    url: urls.gateway,
    namespace: isolated.namespace,
    urls,
    productUrls,
    token: (principal, ttl = 3600) => signToken(JWT, principal, ttl),
    kill: (role) => stopProcess(role, 'SIGKILL'),
    terminate: async (role) => {
      const run = runs[role].at(-1)!;
      await run.stop('SIGTERM');
      return { code: await run.exited, output: run.output() };
    },
    start,
    logs: (role) =>
      [...runs[role], ...(role === 'product' ? extraProductRuns : [])].map((run) => run.output()).join(''),
    startAnotherGateway: async () => {
      const port = await freePort();
      const only = Object.entries(roleSettings.gateway ?? {}).map(([k, v]) => [`HEXASHOP_${k}`, v]);
      const run = spawnRole('gateway', port, { ...env, ...Object.fromEntries(only) });
      extraGateways.push(run);
      const url = `http://127.0.0.1:${port}`;
      await run.ready(url);
      return { url, stop: () => run.stop('SIGTERM'), logs: () => run.output() };
    },
    dispose: async () => {
      await Promise.all([...extraGateways, ...extraProductRuns].map((run) => run.stop('SIGTERM')));
      await Promise.all(roles.map((role) => stopProcess(role, 'SIGTERM')));
      await isolated.dispose();
    },
  };
}

/** An `afterEach` hook: when a test failed, the end of each role's output, to read why. */
export function printLogsOnFailure(topology: () => SplitTopology | undefined) {
  return function (this: Mocha.Context): void {
    const split = topology();
    if (this.currentTest?.state !== 'failed' || !split) return;
    for (const role of ['product', 'order', 'gateway'] as const) {
      console.log(`--- ${role}\n${split.logs(role).slice(-4000)}`);
    }
  };
}
