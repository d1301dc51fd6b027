/**
 * What a chaos run drives: the platform's processes (each can be killed, paused, stopped and started
 * again on its port and data), the edge its clients call, and read access to the databases afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openMysqlSession } from '../src/adapters/persistence/mikro-orm/mysql-setup.ts';
import { type Principal, signToken } from '../src/edge/http/auth.ts';
import { type RoleProcess, spawnRole } from '../test/support/cli.ts';
import { freePort } from '../test/support/ports.ts';
import { isolatedSplit } from '../test/support/split.ts';
import { type TcpProxy, tcpProxy } from '../test/support/tcp-proxy.ts';
import type { ChaosServices } from './services.ts';

export type Module = 'product' | 'order';

/** One process of the platform: `gateway`, `product-1`, `order-2`, `monolith`… */
export interface Instance {
  name: string;
  role: string;
  /** Where the others reach it: through its fault proxy when it has one. */
  url: string;
  /** Between this instance and whoever calls it (the gateway; the order role calling product). */
  proxy: TcpProxy | undefined;
  start(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful stop; resolves with its exit code once it exited. */
  terminate(): Promise<number | null>;
  /** SIGSTOP / SIGCONT: frozen, as a long GC pause or a stuck VM would. */
  pause(): void;
  resume(): void;
  logs(): string;
}

export interface Platform {
  kind: 'split' | 'monolith';
  /** What clients call: the gateway (split) or the monolith. */
  url: string;
  instances: Instance[];
  instance(name: string): Instance;
  services: ChaosServices | undefined;
  token(principal: Principal): string;
  /** Rows of a module's database, as its own tables hold them. */
  rows<T = Record<string, unknown>>(module: Module, sql: string): Promise<T[]>;
  /** The settings of every process, for `hexashop` commands (dlq, …) run against this platform. */
  env: NodeJS.ProcessEnv;
  dispose(): Promise<void>;
}

const JWT = {
  secret: 'chaos-only-signing-key-of-enough-length-0123456789',
  issuer: 'hexashop',
  audience: 'hexashop-api',
};

/** Settings every chaos process runs with (without the `HEXASHOP_` prefix). */
const COMMON: Record<string, string> = {
  JWT_SECRET: JWT.secret,
  LOG_LEVEL: 'warn',
  // The clients are few and fast; a 429 would measure the limiter, not the faults.
  RATE_LIMIT_READ: '100000000',
  RATE_LIMIT_WRITE: '100000000',
  SHUTDOWN_TIMEOUT_MS: '10000',
  // The smallest session the broker accepts: a frozen consumer loses its partitions after 6 s.
  KAFKA_SESSION_TIMEOUT_MS: '6000',
  // A crashed instance is out of the gateway's rotation quickly.
  UPSTREAM_TIMEOUT_MS: '5000',
};

const prefixed = (settings: Record<string, string>) =>
  Object.fromEntries(Object.entries(settings).map(([k, v]) => [`HEXASHOP_${k}`, v]));

/** A process on a fixed port that can be started again after it died, with what each run wrote. */
function processInstance(
  name: string,
  role: string,
  port: number,
  env: NodeJS.ProcessEnv,
  proxy: TcpProxy | undefined,
): Instance {
  const runs: RoleProcess[] = [];
  const current = () => runs.at(-1);
  const direct = `http://127.0.0.1:${port}`;
  return {
    name,
    role,
    url: proxy ? `http://127.0.0.1:${proxy.port}` : direct,
    proxy,
    start: async () => {
      const run = spawnRole(role, port, env);
      runs.push(run);
      await run.ready(direct, 120_000);
    },
    kill: async () => void (await current()?.stop('SIGKILL')),
    terminate: async () => {
      const run = current();
      if (!run) return null;
      await run.stop('SIGTERM');
      return run.exited;
    },
    pause: () => void current()?.child.kill('SIGSTOP'),
    resume: () => void current()?.child.kill('SIGCONT'),
    logs: () => runs.map((run) => run.output()).join(''),
  };
}

function platformOf(parts: Omit<Platform, 'instance' | 'token' | 'dispose'>, cleanup: () => Promise<void>): Platform {
  return {
    ...parts,
    instance: (name) => {
      const found = parts.instances.find((i) => i.name === name);
      if (!found) throw new Error(`no instance ${name}`);
      return found;
    },
    token: (principal) => signToken(JWT, principal, 24 * 3600),
    dispose: async () => {
      for (const each of parts.instances) each.resume();
      await Promise.all(parts.instances.map((each) => each.terminate()));
      await Promise.all(parts.instances.map((each) => each.proxy?.cut()));
      await cleanup();
    },
  };
}

/**
 * The split roles as processes on the chaos services: a gateway, two product and two order instances,
 * each behind a fault proxy; each order instance calls "its" product instance for sync reservations. Own
 * schemas and users, Kafka namespace and Redis prefix.
 */
export async function startSplitPlatform(services: ChaosServices): Promise<Platform> {
  const isolated = isolatedSplit(services, 'chaos');
  const names = ['product-1', 'product-2', 'order-1', 'order-2'] as const;
  const ports = Object.fromEntries(await Promise.all([...names, 'gateway'].map(async (n) => [n, await freePort()])));
  const proxies = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await tcpProxy(new URL(`http://127.0.0.1:${ports[n]}`))])),
  ) as Record<(typeof names)[number], TcpProxy>;
  const via = (n: (typeof names)[number]) => `http://127.0.0.1:${proxies[n].port}`;
  const env: NodeJS.ProcessEnv = {
    ...isolated.env,
    ...prefixed({
      ...COMMON,
      PRODUCT_UPSTREAMS: [via('product-1'), via('product-2')].join(','),
      ORDER_UPSTREAMS: [via('order-1'), via('order-2')].join(','),
    }),
  };
  await isolated.provision();

  const instance = (name: (typeof names)[number] | 'gateway', extra: Record<string, string> = {}) =>
    processInstance(
      name,
      name.replace(/-\d$/, ''),
      ports[name]!,
      { ...env, ...prefixed(extra) },
      name === 'gateway' ? undefined : proxies[name],
    );
  const instances = [
    instance('product-1'),
    instance('product-2'),
    instance('order-1', { PRODUCT_URL: via('product-1') }),
    instance('order-2', { PRODUCT_URL: via('product-2') }),
    instance('gateway'),
  ];
  // One at a time: the first product instance migrates product_db, the first order instance order_db.
  for (const each of instances) await each.start();

  const sessions = new Map<Module, Awaited<ReturnType<typeof openMysqlSession>>>();
  const session = async (module: Module) => {
    let found = sessions.get(module);
    if (!found) {
      found = await openMysqlSession(services.mysqlAdminUrl, { database: isolated.accounts[module].database });
      sessions.set(module, found);
    }
    return found;
  };
  return platformOf(
    {
      kind: 'split',
      url: `http://127.0.0.1:${ports.gateway}`,
      instances,
      services,
      env,
      rows: async <T>(module: Module, sql: string) => {
        try {
          return await (await session(module)).execute<T>(sql);
        } catch {
          // A session that lived through a MariaDB restart: open a new one, once.
          await sessions
            .get(module)
            ?.close()
            .catch(() => {});
          sessions.delete(module);
          return (await session(module)).execute<T>(sql);
        }
      },
    },
    async () => {
      for (const each of sessions.values()) await each.close();
      await isolated.dispose();
    },
  );
}

/** `npm start`'s shape: one process, embedded SQLite, the in-process bus, on a data dir that outlives it. */
export async function startMonolithPlatform(): Promise<Platform> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-chaos-monolith-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...prefixed({ ...COMMON, DATA_DIR: dataDir }),
  };
  const monolith = processInstance('monolith', 'monolith', port, env, undefined);
  await monolith.start();
  return platformOf(
    {
      kind: 'monolith',
      url: monolith.url,
      instances: [monolith],
      services: undefined,
      env,
      rows: async <T>(module: Module, sql: string) => {
        // Read-only, beside the running process (SQLite in WAL mode lets a reader in).
        const db = new DatabaseSync(join(dataDir, `${module}_db.sqlite`), { readOnly: true });
        try {
          return db.prepare(sql).all() as T[];
        } finally {
          db.close();
        }
      },
    },
    async () => rmSync(dataDir, { recursive: true, force: true }),
  );
}
