/**
 * The product read path at scale (issue 13), in one run: GET /api/v1/products/{id} on a product role served
 *   - hot: from the in-process tier of the two-tier cache (the same product read again and again);
 *   - warm: from Redis (the in-process tier held for 1 ms, so each read asks Redis);
 *   - cold (replica): from a read replica, the cache bypassed (the read carries an `X-Read-After` position
 *     the replica has already applied, so MASTER_GTID_WAIT returns at once);
 *   - primary only: the same read on a role without replicas (the primary answers);
 *   - floor: bench/floors/read-floor.ts, node:http and one SELECT by primary key on the primary.
 *
 *   npm run bench -- --target reads [--duration N] [--connections N]
 *
 * Needs the replication pair (`bash scripts/services.sh up-replica`, started here if it is not running and
 * stopped again afterwards), Redis and Kafka (`npm run services:up`). The product role listens on 18081.
 */
import { execFileSync, spawn } from 'node:child_process';
import { hammer, figureOf, type LoadFigure, type LoadOptions, type LoadRequest } from './load.ts';
import { BENCH_JWT, onLoopback, portsFree, ready, sleep, spawnRole, stopAll, untilOk } from './platform.ts';
import { signToken } from '../src/adapters/auth/jwt.ts';
import { writeResults } from './results.ts';

const PRIMARY = 'mysql://hexashop_product:hexashop_product_dev@127.0.0.1:3308/product_db';
const REPLICA = 'mysql://hexashop_product:hexashop_product_dev@127.0.0.1:3309/product_db';
const PORT = 18081;
const WARM_UP_SECONDS = 2;

interface Shape {
  scenario: string;
  env: NodeJS.ProcessEnv;
  /** Sent with every read (the cold scenarios carry a read-after position). */
  headers?: Record<string, string>;
}

export async function benchReads(options: LoadOptions): Promise<void> {
  const up = execFileSync('bash', ['scripts/services.sh', 'up-replica'], { encoding: 'utf8' });
  const startedPair = /mariadb-(primary|replica): started/.test(up);
  try {
    await portsFree([PORT]);
    const base = { HEXASHOP_PRODUCT_DB_URL: PRIMARY, HEXASHOP_REDIS_KEY_PREFIX: `bench-reads-${Date.now()}:` };
    const replicas = { ...base, HEXASHOP_PRODUCT_DB_REPLICA_URLS: REPLICA };
    const { productId, position } = await seed(replicas);
    const cold = { 'x-read-after': position };
    const shapes: Shape[] = [
      { scenario: 'hot: in-process tier', env: replicas },
      { scenario: 'warm: Redis tier', env: { ...replicas, HEXASHOP_CACHE_LOCAL_TTL_MS: '1' } },
      { scenario: 'cold: read replica', env: replicas, headers: cold },
      { scenario: 'primary only', env: base, headers: cold },
    ];
    const figures: LoadFigure[] = [];
    for (const shape of shapes) figures.push(await measure(shape, productId, options));
    figures.push(await readFloor(productId, options));
    console.log(`\nreads: ${options.connections} connections, ${options.duration}s per scenario (product role direct)`);
    console.table(figures.map((f) => ({ ...f, p50: `${f.p50} ms`, p99: `${f.p99} ms` })));
    const floor = figures.at(-1)!.requestsPerSecond;
    for (const f of figures.slice(0, -1))
      console.log(`  ${f.scenario}: ${(f.requestsPerSecond / floor).toFixed(2)} × floor`);
    const file = writeResults(
      'reads',
      'GET a product: cache tiers, replica, primary, floor (req/s)',
      figures,
      figures.map((f) => ({
        group: 'GET /api/v1/products/{id}',
        label: f.scenario,
        value: f.requestsPerSecond,
        unit: 'req/s',
        note: `p50 ${f.p50} ms, p99 ${f.p99} ms`,
      })),
    );
    console.log(`results: ${file}`);
  } finally {
    if (startedPair) execFileSync('bash', ['scripts/services.sh', 'down-replica'], { stdio: 'inherit' });
  }
}

/** A product made on a role with replicas, and the commit position of that write (applied by the replica). */
async function seed(env: NodeJS.ProcessEnv): Promise<{ productId: string; position: string }> {
  const child = spawnRole('.', 'product', PORT, env);
  try {
    await ready(child, onLoopback(PORT));
    const admin = signToken(BENCH_JWT, { id: 'bench-admin', role: 'admin' }, 3600);
    const res = await fetch(`${onLoopback(PORT)}/api/v1/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sku: `READS-${Date.now()}`,
        name: 'Read bench',
        priceCents: 100,
        currency: 'EUR',
        stock: 5,
      }),
    });
    const position = res.headers.get('x-read-after');
    const { id } = (await res.json()) as { id: string };
    if (!position) throw new Error('the product role answered no X-Read-After: are the replicas configured?');
    await sleep(500); // the replica applies it (the cold read must not wait)
    return { productId: id, position };
  } finally {
    await stopAll([child]);
  }
}

async function measure(shape: Shape, productId: string, options: LoadOptions): Promise<LoadFigure> {
  const child = spawnRole('.', 'product', PORT, shape.env);
  try {
    const url = onLoopback(PORT);
    await ready(child, url);
    const request: LoadRequest = { method: 'GET', path: `/api/v1/products/${productId}`, headers: shape.headers ?? {} };
    await hammer(url, { ...options, duration: WARM_UP_SECONDS }, request);
    return figureOf(shape.scenario, await hammer(url, options, request));
  } finally {
    await stopAll([child]);
  }
}

async function readFloor(productId: string, options: LoadOptions): Promise<LoadFigure> {
  const child = spawn(process.execPath, ['bench/floors/read-floor.ts', String(PORT), 'mysql', PRIMARY], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const url = onLoopback(PORT);
    await untilOk(`${url}/health/live`);
    const request: LoadRequest = { method: 'GET', path: `/products/${productId}` };
    await hammer(url, { ...options, duration: WARM_UP_SECONDS }, request);
    return figureOf('floor: node:http + SELECT on the primary', await hammer(url, options, request));
  } finally {
    await stopAll([child]);
  }
}
