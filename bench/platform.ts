import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '../src/edge/http/auth.ts';

export interface Platform {
  url: string;
  /** Each of our processes by name (`monolith`; `gateway`, `product`, `order`, or `product-2`…) and its base URL. */
  processes: Record<string, string>;
  token(sub: string, role: 'admin' | 'customer'): string;
  createProduct(adminToken: string, stock: number): Promise<string>;
  /** How long until no order of this customer is PENDING any more. */
  timeToSettle(customerToken: string): Promise<number>;
  stop(): Promise<void>;
}

/** The signing key every bench process is started with, and the settings to sign tokens for it. */
export const BENCH_SECRET = 'bench-only-signing-key-0123456789-abcdefghij';
export const BENCH_JWT = { secret: BENCH_SECRET, issuer: 'hexashop', audience: 'hexashop-api' };
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Where the roles leave CPU profiles (`node --cpu-prof`, written when a role stops): `npm run bench --
 * --cpu-prof DIR` sets it for every target; unset, nothing is profiled.
 */
let cpuProfileDir: string | undefined;
export function profileRolesInto(dir: string | undefined): void {
  cpuProfileDir = dir;
}

/** `codeDir`: where the code under measurement lives, this checkout or a baseline's worktree (baseline.ts). */
export function spawnRole(codeDir: string, role: string, port: number, env: NodeJS.ProcessEnv): ChildProcess {
  const profile = cpuProfileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`, `--cpu-prof-name=${role}.${port}.${Date.now()}.cpuprofile`]
    : [];
  return spawn(process.execPath, [...profile, 'bin/hexashop.js', 'start', '--role', role, '--port', String(port)], {
    cwd: codeDir,
    // Rate limits would measure the limiter, not the platform: lifted for the bench.
    env: {
      ...process.env,
      HEXASHOP_JWT_SECRET: BENCH_SECRET,
      HEXASHOP_LOG_LEVEL: 'warn',
      HEXASHOP_RATE_LIMIT_READ: '100000000',
      HEXASHOP_RATE_LIMIT_WRITE: '100000000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Waits until `url` answers 2xx (a minute at most). */
export async function untilOk(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await fetch(url).catch(() => null))?.ok) return;
    await sleep(100);
  }
  throw new Error(`${url} never became ready`);
}

/**
 * Waits until the role `child` serves `base` is ready. A role that exits first fails at once: another
 * process on its port would otherwise answer the readiness probe in its place.
 */
export async function ready(child: ChildProcess, base: string): Promise<void> {
  let onExit!: (code: number | null) => void;
  const exited = new Promise<never>((_, reject) => {
    onExit = (code) => reject(new Error(`the role for ${base} exited with status ${code} before it was ready`));
    child.once('exit', onExit);
  });
  try {
    await Promise.race([untilOk(`${base}/health/ready`), exited]);
  } finally {
    child.off('exit', onExit);
    exited.catch(() => {});
  }
}

export const onLoopback = (port: number) => `http://127.0.0.1:${port}`;

/** Fails unless every port is free: the bench's roles take fixed ports, and another bench there would be measured instead. */
export async function portsFree(ports: readonly number[]): Promise<void> {
  const taken: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!free) taken.push(port);
  }
  if (taken.length > 0) throw new Error(`port ${taken.join(', ')} taken (another bench running?): stop it first`);
}

export function stopAll(children: readonly ChildProcess[]): Promise<unknown> {
  return Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) =>
          c.exitCode !== null || c.signalCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM')),
        ),
    ),
  );
}

function platform(
  url: string,
  children: ChildProcess[],
  processes: Record<string, string>,
  cleanup: () => void,
): Platform {
  return {
    url,
    processes,
    token: (sub, role) => signToken(BENCH_JWT, { id: sub, role }, 3600),
    async createProduct(admin, stock) {
      const res = await fetch(`${url}/api/v1/products`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sku: `BENCH-${Date.now()}`, name: 'Bench', priceCents: 100, currency: 'EUR', stock }),
      });
      const { id } = (await res.json()) as { id: string };
      await sleep(1_000); // let the order module's catalog replica learn it
      return id;
    },
    async timeToSettle(customer) {
      const started = Date.now();
      for (;;) {
        const res = await fetch(`${url}/api/v1/orders?status=PENDING&limit=1`, {
          headers: { authorization: `Bearer ${customer}` },
        });
        const page = (await res.json()) as { items: unknown[] };
        if (page.items.length === 0) return Date.now() - started;
        await sleep(100);
      }
    },
    async stop() {
      await stopAll(children);
      cleanup();
    },
  };
}

export async function startMonolithProcess(codeDir = '.'): Promise<Platform> {
  await portsFree([18080]);
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-bench-'));
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  const child = spawnRole(codeDir, 'monolith', 18080, { HEXASHOP_DATA_DIR: dataDir });
  try {
    await ready(child, onLoopback(18080));
  } catch (error) {
    await stopAll([child]);
    cleanup();
    throw error;
  }
  return platform(onLoopback(18080), [child], { monolith: onLoopback(18080) }, cleanup);
}

export interface SplitOptions {
  /** Instances of the product role and of the order role; the gateway balances over them. Default 1. */
  instances?: number;
}

/**
 * The ports of the split roles: the gateway on 18080, product instance i (from 0) on 18081 + 2i and order
 * instance i on 18082 + 2i (one instance each: 18081 and 18082; two: also 18083 and 18084).
 */
export function splitPorts(instances: number): { gateway: number; product: number[]; order: number[] } {
  const nth = (first: number) => Array.from({ length: instances }, (_, i) => first + 2 * i);
  return { gateway: 18080, product: nth(18081), order: nth(18082) };
}

/**
 * The split roles on the local services (`npm run services:up` done: it also creates the schemas, users and
 * topics), each instance a process of its own on the same databases, Kafka consumer groups and Redis. The
 * gateway gets every instance as an upstream. Order instance i asks product instance i for its direct (sync)
 * reservations: `--product-url` takes one URL, and the gateway does not route the internal reservation API,
 * so pairing them is how both product instances share that load (any instance may answer any order: the
 * reservation is idempotent by order id, and stock is only taken under row locks in product_db).
 */
export async function startSplitProcesses(codeDir = '.', { instances = 1 }: SplitOptions = {}): Promise<Platform> {
  if (!Number.isInteger(instances) || instances < 1 || instances > 8)
    throw new Error(`instances: 1 to 8, not ${instances}`);
  const ports = splitPorts(instances);
  await portsFree([ports.gateway, ...ports.product, ...ports.order]);
  const env = {
    HEXASHOP_PRODUCT_UPSTREAMS: ports.product.map(onLoopback).join(','),
    HEXASHOP_ORDER_UPSTREAMS: ports.order.map(onLoopback).join(','),
    HEXASHOP_RATE_LIMIT_READ: '100000000',
    HEXASHOP_RATE_LIMIT_WRITE: '100000000',
  };
  const children: ChildProcess[] = [];
  const processes: Record<string, string> = {};
  const start = async (name: string, role: string, port: number, more: NodeJS.ProcessEnv = {}) => {
    const child = spawnRole(codeDir, role, port, { ...env, ...more });
    children.push(child);
    processes[name] = onLoopback(port);
    await ready(child, onLoopback(port));
  };
  try {
    // One instance of each role at a time: each migrates its database as it starts, and two migrators
    // on one schema at once could race; the later instances find it migrated.
    for (let i = 0; i < instances; i++) {
      const name = (role: string) => (instances === 1 ? role : `${role}-${i + 1}`);
      await Promise.all([
        start(name('product'), 'product', ports.product[i]!),
        start(name('order'), 'order', ports.order[i]!, { HEXASHOP_PRODUCT_URL: onLoopback(ports.product[i]!) }),
      ]);
    }
    await start('gateway', 'gateway', ports.gateway);
  } catch (error) {
    await stopAll(children);
    throw error;
  }
  return platform(onLoopback(ports.gateway), children, processes, () => {});
}
