/**
 * Our order and read paths next to their floors, in one run, for both shapes:
 *
 *   npm run bench -- --target floors [--duration N] [--connections N] [--scenarios get,sync,async]
 *
 * - monolith (SQLite files, in-process bus, memory cache) next to the floors on two scratch SQLite files;
 * - split (gateway + product + order on MySQL, Kafka, Redis; `npm run services:up` first) next to the
 *   floors on two scratch MySQL schemas.
 *
 * Orders: POST /api/v1/orders from `connections` autocannon connections for `duration` seconds, beside two
 * floors that share one implementation of placing an order (order-floor.ts: the same durable writes with
 * the raw driver):
 *   - `floor`: in this process, no HTTP, `connections` orders in flight. Issue 10's target is against it,
 *     and it is the database floor: what the writes alone cost.
 *   - `floor+http` (order-floor-http.ts): the same writes behind a bare node:http server in a child
 *     process, driven by autocannon like ours with the same request (POST /orders?mode=…, an HS256 bearer
 *     token, the JSON body) and answered with the order as JSON. Our path pays for HTTP (request parsing,
 *     the body, a response written on a socket: ~100 µs of CPU per response on loopback here) and `floor`
 *     does not, so ours / floor charges us for HTTP as well; ours / (floor+http) is what our own code
 *     costs over a server that does the same writes. Reported beside, not judged.
 * Sync counts confirmed orders per second of load; async counts orders settled per second from the first
 * request to the last settlement (the load, then waiting until none is PENDING: our path by asking for
 * PENDING orders, floor+http by its GET /stats). Latency is what the client waits for: the 201 (sync),
 * the 202 (async); for `floor`, its transactions. Reads: GET /api/v1/products/{id} on a product read
 * before (the cache hits) against read-floor.ts (node:http + one SELECT by primary key), after 2 s of
 * warm-up each. Beside the figures, what each order or read cost: CPU of our processes (from their
 * /metrics) or of the floor's (this process for `floor`, the child's from /proc for `floor+http` and the
 * read floor), the database server's CPU, and on MySQL its statement, commit and redo-log fsync counters.
 *
 * Targets (issue 10): orders ≥ 0.5 × floor in both shapes and both modes; hot reads ≥ 0.7 × floor in the
 * monolith. PASS/MISS is printed; a MISS never fails the run (a bench, not a test).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';
import type { Storage } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { signToken } from '../../src/adapters/auth/jwt.ts';
import { freePort } from '../../test/support/ports.ts';
import { hammer, type LoadOptions } from '../load.ts';
import { writeResults } from '../results.ts';
import { BENCH_JWT, type Platform, sleep, startMonolithProcess, startSplitProcesses, untilOk } from '../platform.ts';
import { childCpuSeconds, type Cost, cpuSeconds, type Meter, type Spent, startMeter } from './costs.ts';
import { orderFloor, type PlacementMode } from './order-floor.ts';
import type { OrderFloorStats } from './order-floor-http.ts';
import { LEGEND, type Measured, report, type Scenario } from './report.ts';
import { type ScratchDatabases, scratchDatabases, undoOnInterrupt } from './scratch.ts';

export interface FloorsOptions extends LoadOptions {
  /** Which of get (reads), sync and async (orders) to run. */
  scenarios: readonly string[];
}

interface Shape {
  name: 'monolith' | 'split';
  storage: Storage;
  title: string;
  start(): Promise<Platform>;
  /** Our processes, by name, as bench/platform.ts starts them: where each serves /metrics. */
  processes: Record<string, string>;
}

const SHAPES: Shape[] = [
  {
    name: 'monolith',
    storage: 'sqlite',
    title: 'monolith: SQLite files, in-process bus, memory cache',
    start: () => startMonolithProcess(),
    processes: { monolith: 'http://127.0.0.1:18080' },
  },
  {
    name: 'split',
    storage: 'mysql',
    title: 'split: gateway → order → product on MySQL, Kafka, Redis',
    start: () => startSplitProcesses(),
    processes: {
      gateway: 'http://127.0.0.1:18080',
      product: 'http://127.0.0.1:18081',
      order: 'http://127.0.0.1:18082',
    },
  },
];

/** Ours / floor at least this much, by shape and scenario; absent: reported, no target. */
const TARGETS: Record<Shape['name'], Partial<Record<Scenario, number>>> = {
  monolith: { 'orders sync': 0.5, 'orders async': 0.5, reads: 0.7 },
  split: { 'orders sync': 0.5, 'orders async': 0.5 },
};

const WARM_UP_SECONDS = 2;
const SETTLE_TIMEOUT_MS = 120_000;

export async function benchFloors(options: FloorsOptions): Promise<void> {
  // bench/platform.ts starts our roles on fixed ports: another bench there would be measured instead.
  for (const url of new Set(SHAPES.flatMap((s) => Object.values(s.processes)))) {
    if (await fetch(`${url}/health/live`).catch(() => null))
      throw new Error(`${url} is taken (another bench running?): stop it first`);
  }
  const results: { shape: Shape; figures: Measured[] }[] = [];
  for (const shape of SHAPES) {
    try {
      console.error(`\n${shape.title}: our path`);
      const figures = await measureOurs(shape, options);
      console.error(`${shape.title}: the floors`);
      figures.push(...(await measureFloors(shape, options)));
      results.push({ shape, figures });
    } catch (error) {
      console.error(`${shape.name}: not measured: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(
    `\nfloors: ${options.connections} connections, ${options.duration}s per run, ${new Date().toISOString()}`,
  );
  for (const line of LEGEND) console.log(line);
  for (const { shape, figures } of results) report(shape, TARGETS[shape.name], figures);
  const bars = results.flatMap(({ shape, figures }) =>
    figures.map((f) => ({
      group: `${shape.name} ${f.scenario}`,
      label: f.path,
      value: f.rate,
      unit: f.scenario === 'reads' ? 'req/s' : 'orders/s',
      note: `p50 ${f.p50} ms, p99 ${f.p99} ms`,
    })),
  );
  const title = `Ours beside the floors (${options.connections} connections, ${options.duration} s)`;
  console.log(`
chart and figures: ${writeResults('floors', title, results, bars)} (and .json)`);
}

// ---------------------------------------------------------------------------------------------- our path

async function measureOurs(shape: Shape, options: FloorsOptions): Promise<Measured[]> {
  const platform = await shape.start();
  const stop = undoOnInterrupt(() => platform.stop());
  try {
    const admin = platform.token('root', 'admin');
    // A customer of this run only: the split shape's databases keep earlier runs' orders.
    const customer = platform.token(`floors-${randomBytes(4).toString('hex')}`, 'customer');
    const product = await platform.createProduct(admin, 1_000_000_000);
    const meter = (database: boolean) => startMeter(() => ourCpu(shape), database && shape.storage === 'mysql');
    const figures: Measured[] = [];
    if (options.scenarios.includes('get')) {
      const request = { method: 'GET' as const, path: `/api/v1/products/${product}` };
      await hammer(platform.url, { ...options, duration: WARM_UP_SECONDS }, request);
      const metered = await meter(false); // a hot read does not reach the database
      const result = await hammer(platform.url, options, request);
      figures.push(fromAutocannon('reads', 'ours', result, (await metered.stop()).per(result.requests.total)));
    }
    for (const mode of ['sync', 'async'] as const) {
      if (!options.scenarios.includes(mode)) continue;
      const metered = await meter(true);
      const started = performance.now();
      const result = await hammer(platform.url, options, {
        method: 'POST',
        path: `/api/v1/orders?mode=${mode}`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${customer}` },
        body: JSON.stringify({ items: [{ productId: product, quantity: 1 }] }),
      });
      const orders = result['2xx'];
      let seconds = result.duration;
      let unsettled = 0;
      if (mode === 'async') {
        const settled = await untilSettled(platform.url, customer);
        seconds = ((settled ?? performance.now()) - started) / 1000;
        if (settled === null) unsettled = orders;
      }
      const figure = fromAutocannon(`orders ${mode}`, 'ours', result, (await metered.stop()).per(orders));
      figures.push({ ...figure, rate: Math.round(orders / seconds), failed: figure.failed + unsettled });
    }
    return figures;
  } finally {
    await stop();
  }
}

function fromAutocannon(scenario: Scenario, path: Measured['path'], result: autocannon.Result, cost: Cost): Measured {
  return {
    scenario,
    path,
    rate: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    cost,
  };
}

/** When none of the customer's orders is PENDING any more (performance.now()), or null after the timeout. */
async function untilSettled(url: string, customer: string): Promise<number | null> {
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const res = await fetch(`${url}/api/v1/orders?status=PENDING&limit=1`, {
      headers: { authorization: `Bearer ${customer}` },
    });
    const page = (await res.json()) as { items?: unknown[] };
    if (res.ok && page.items?.length === 0) return performance.now();
    await sleep(50);
  }
  return null;
}

/** CPU seconds so far of each of our processes, from its Prometheus process_cpu_seconds_total. */
async function ourCpu(shape: Shape): Promise<Record<string, number>> {
  const entries = await Promise.all(
    Object.entries(shape.processes).map(async ([name, url]) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = /^process_cpu_seconds_total(?:\{[^}]*\})?\s+(\S+)$/m.exec(text);
      return [name, line ? Number(line[1]) : Number.NaN] as const;
    }),
  );
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------- floors

async function measureFloors(shape: Shape, options: FloorsOptions): Promise<Measured[]> {
  const scratch = await scratchDatabases(shape.storage);
  try {
    const figures: Measured[] = [];
    if (options.scenarios.includes('get')) figures.push(await readFloor(scratch, options));
    for (const mode of ['sync', 'async'] as const) {
      if (!options.scenarios.includes(mode)) continue;
      figures.push(await ordersAtFloor(scratch, mode, options));
      figures.push(await ordersAtHttpFloor(scratch, mode, options));
    }
    return figures;
  } finally {
    await scratch.drop();
  }
}

async function ordersAtFloor(scratch: ScratchDatabases, mode: PlacementMode, options: FloorsOptions) {
  // The floor runs in this process: its CPU is this process's, over the floor's measured window.
  const nodeCpu = async () => ({ floor: cpuSeconds(process.cpuUsage()) });
  let meter: Meter | undefined;
  let spent: Spent | undefined;
  const window = {
    opened: async () => void (meter = await startMeter(nodeCpu, scratch.storage === 'mysql')),
    closed: async () => void (spent = await meter?.stop()),
  };
  const result = await orderFloor(scratch, { mode, ...options, settleTimeoutMs: SETTLE_TIMEOUT_MS, window });
  const cost = spent!.per(result.confirmed);
  const latencies = [...result.latencies].sort((a, b) => a - b);
  const figure: Measured = {
    scenario: `orders ${mode}`,
    path: 'floor',
    rate: Math.round(result.confirmed / result.seconds),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failed: result.placed - result.confirmed,
    cost: { ...cost, writeTx: result.writeTransactions / Math.max(1, result.confirmed) },
  };
  if (result.deadlockRetries > 0) console.error(`floor ${mode}: ${result.deadlockRetries} deadlocks retried`);
  return figure;
}

/**
 * The floor's writes behind node:http (order-floor-http.ts) in a child process, one per mode, loaded by
 * autocannon as ours is. Async: from the first request until the child has confirmed every order it
 * placed (its GET /stats), as the in-process floor counts it.
 */
async function ordersAtHttpFloor(scratch: ScratchDatabases, mode: PlacementMode, options: FloorsOptions) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['bench/floors/order-floor-http.ts', String(port), mode, scratch.storage, scratch.productDb, scratch.orderDb],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FLOOR_JWT: JSON.stringify(BENCH_JWT) } },
  );
  const stop = undoOnInterrupt(() => stopChild(child));
  try {
    const url = `http://127.0.0.1:${port}`;
    await untilOk(`${url}/health/live`);
    const stats = async () => (await (await fetch(`${url}/stats`)).json()) as OrderFloorStats;
    const customer = signToken(BENCH_JWT, { id: 'floor', role: 'customer' }, 3600);
    const metered = await startMeter(
      async () => ({ 'floor+http': childCpuSeconds(child.pid!) }),
      scratch.storage === 'mysql',
    );
    const before = await stats();
    const started = performance.timeOrigin + performance.now();
    const result = await hammer(url, options, {
      method: 'POST',
      path: `/orders?mode=${mode}`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${customer}` },
      body: JSON.stringify({ items: [{ productId: scratch.productId, quantity: 1 }] }),
    });
    let after = await stats();
    let seconds = result.duration;
    let orders = result['2xx'];
    let unsettled = 0;
    if (mode === 'async') {
      const deadline = performance.now() + SETTLE_TIMEOUT_MS;
      const settling = () => after.inFlight > 0 || after.confirmed < after.placed;
      while (settling() && after.relaying && performance.now() < deadline) {
        await sleep(20);
        after = await stats();
      }
      orders = after.confirmed - before.confirmed;
      unsettled = after.placed - after.confirmed;
      seconds = ((after.lastConfirmedAt || performance.timeOrigin + performance.now()) - started) / 1000;
    }
    const cost = (await metered.stop()).per(orders);
    const writeTx = (after.commits - before.commits) / Math.max(1, orders);
    const figure = fromAutocannon(`orders ${mode}`, 'floor+http', result, { ...cost, writeTx });
    if (after.deadlockRetries > 0) console.error(`floor+http ${mode}: ${after.deadlockRetries} deadlocks retried`);
    return { ...figure, rate: Math.round(orders / seconds), failed: figure.failed + unsettled };
  } finally {
    await stop();
  }
}

async function readFloor(scratch: ScratchDatabases, options: FloorsOptions): Promise<Measured> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['bench/floors/read-floor.ts', String(port), scratch.storage, scratch.productDb],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const stop = undoOnInterrupt(() => stopChild(child));
  try {
    const url = `http://127.0.0.1:${port}`;
    await untilOk(`${url}/health/live`);
    const request = { method: 'GET' as const, path: `/products/${scratch.productId}` };
    await hammer(url, { ...options, duration: WARM_UP_SECONDS }, request);
    const metered = await startMeter(async () => ({ floor: childCpuSeconds(child.pid!) }), false);
    const result = await hammer(url, options, request);
    return fromAutocannon('reads', 'floor', result, (await metered.stop()).per(result.requests.total));
  } finally {
    await stop();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 10) / 10;
