import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '../src/edge/http/auth.ts';

export interface Platform {
  url: string;
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
function spawnRole(codeDir: string, role: string, port: number, env: NodeJS.ProcessEnv): ChildProcess {
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

const ready = (base: string) => untilOk(`${base}/health/ready`);

function platform(url: string, children: ChildProcess[], cleanup: () => void): Platform {
  return {
    url,
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
      await Promise.all(
        children.map(
          (c) =>
            new Promise((resolve) =>
              c.exitCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM')),
            ),
        ),
      );
      cleanup();
    },
  };
}

export async function startMonolithProcess(codeDir = '.'): Promise<Platform> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-bench-'));
  const child = spawnRole(codeDir, 'monolith', 18080, { HEXASHOP_DATA_DIR: dataDir });
  await ready('http://127.0.0.1:18080');
  return platform('http://127.0.0.1:18080', [child], () => rmSync(dataDir, { recursive: true, force: true }));
}

/** The split roles on the local services (`npm run services:up` done: it also creates the schemas, users and topics). */
export async function startSplitProcesses(codeDir = '.'): Promise<Platform> {
  const env = {
    HEXASHOP_PRODUCT_URL: 'http://127.0.0.1:18081',
    HEXASHOP_PRODUCT_UPSTREAMS: 'http://127.0.0.1:18081',
    HEXASHOP_ORDER_UPSTREAMS: 'http://127.0.0.1:18082',
    HEXASHOP_RATE_LIMIT_READ: '100000000',
    HEXASHOP_RATE_LIMIT_WRITE: '100000000',
  };
  const children = [spawnRole(codeDir, 'product', 18081, env), spawnRole(codeDir, 'order', 18082, env)];
  await ready('http://127.0.0.1:18081');
  await ready('http://127.0.0.1:18082');
  children.push(spawnRole(codeDir, 'gateway', 18080, env));
  await ready('http://127.0.0.1:18080');
  return platform('http://127.0.0.1:18080', children, () => {});
}
