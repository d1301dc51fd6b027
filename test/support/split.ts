import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Principal, signToken } from '../../src/adapters/http/auth.ts';
import { openMysqlAdmin } from '../../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import { eventually } from './http.ts';
import { deleteNamespace } from './kafka.ts';
import { freePort } from './ports.ts';
import { uniqueSuffix, withDatabase } from './mysql.ts';
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
  /** Start a killed or stopped role again, on the same port, database and topics. */
  start(role: SplitRole): Promise<void>;
  /** Everything each role wrote to stdout/stderr, for failure messages. */
  logs(role: SplitRole): string;
  dispose(): Promise<void>;
}

const JWT_SECRET = 'e2e-only-signing-key-of-enough-length-0123456789';
const JWT = { secret: JWT_SECRET, issuer: 'hexashop', audience: 'hexashop-api' };

const cli = (args: string[], env: NodeJS.ProcessEnv) =>
  promisify(execFile)(process.execPath, ['bin/hexashop.js', ...args], { env, timeout: 120_000 });

/**
 * Starts the three roles as real processes on MySQL, Kafka and Redis, isolated from anything else on the
 * same servers: own schemas and users, own Kafka namespace (topics and groups), own Redis key prefix.
 */
export async function startSplit(settings: Record<string, string> = {}): Promise<SplitTopology> {
  const services = await integrationServices();
  const suffix = uniqueSuffix();
  const namespace = `e2e-${suffix}.`;
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-split-'));
  const ports: Record<SplitRole, number> = {
    product: await freePort(),
    order: await freePort(),
    gateway: await freePort(),
  };
  const urls = Object.fromEntries(Object.entries(ports).map(([r, p]) => [r, `http://127.0.0.1:${p}`])) as Record<
    SplitRole,
    string
  >;
  const dbUrl = (module: string) => {
    const url = new URL(withDatabase(services.mysqlAdminUrl, `e2e_${module}_${suffix}`));
    url.username = `e2e_${module}_${suffix}`;
    url.password = `pw-${suffix}`;
    return url.toString();
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HEXASHOP_STORAGE: 'mysql',
    HEXASHOP_BUS: 'kafka',
    HEXASHOP_DATA_DIR: dataDir,
    HEXASHOP_PRODUCT_DB_URL: dbUrl('product'),
    HEXASHOP_ORDER_DB_URL: dbUrl('order'),
    HEXASHOP_KAFKA_BROKERS: services.kafkaBrokers.join(','),
    HEXASHOP_KAFKA_NAMESPACE: namespace,
    HEXASHOP_REDIS_URL: services.redisUrl,
    HEXASHOP_REDIS_KEY_PREFIX: `e2e-${suffix}:`,
    // The suites poll; only the rate-limit suite (which sets its own) may ever see a 429.
    HEXASHOP_RATE_LIMIT_READ: '1000000',
    HEXASHOP_RATE_LIMIT_WRITE: '1000000',
    HEXASHOP_PRODUCT_URL: urls.product,
    HEXASHOP_PRODUCT_UPSTREAMS: urls.product,
    HEXASHOP_ORDER_UPSTREAMS: urls.order,
    HEXASHOP_JWT_SECRET: JWT_SECRET,
    HEXASHOP_LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`HEXASHOP_${k}`, v])),
  };
  await cli(['db', 'setup', '--admin-url', services.mysqlAdminUrl], env);
  await cli(['kafka', 'topics'], env);

  const processes = new Map<SplitRole, ChildProcess>();
  const output: Record<SplitRole, string[]> = { product: [], order: [], gateway: [] };

  const start = async (role: SplitRole) => {
    const child = spawn(process.execPath, ['bin/hexashop.js', 'start', '--role', role, '--port', String(ports[role])], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk) => output[role].push(String(chunk)));
    processes.set(role, child);
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`${role} exited with ${child.exitCode}:\n${output[role].join('')}`);
        const ready = await fetch(`${urls[role]}/health/ready`).catch(() => null);
        return ready?.ok ? true : undefined;
      },
      60_000,
      `${role} to be ready`,
    );
  };

  const stopProcess = async (role: SplitRole, signal: NodeJS.Signals) => {
    const child = processes.get(role);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };

  try {
    for (const role of ['product', 'order', 'gateway'] as const) await start(role);
  } catch (error) {
    for (const role of processes.keys()) await stopProcess(role, 'SIGKILL');
    throw error;
  }

  return {
    url: urls.gateway,
    namespace,
    urls,
    token: (principal, ttl = 3600) => signToken(JWT, principal, ttl),
    kill: (role) => stopProcess(role, 'SIGKILL'),
    start,
    logs: (role) => output[role].join(''),
    dispose: async () => {
      await Promise.all([...processes.keys()].map((role) => stopProcess(role, 'SIGTERM')));
      const admin = await openMysqlAdmin(services.mysqlAdminUrl);
      try {
        for (const module of ['product', 'order']) {
          await admin.execute(`drop database if exists e2e_${module}_${suffix}`);
          for (const host of ['%', 'localhost'])
            await admin.execute(`drop user if exists ?@?`, [`e2e_${module}_${suffix}`, host]);
        }
      } finally {
        await admin.close();
      }
      await deleteNamespace(services.kafkaBrokers, namespace);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
