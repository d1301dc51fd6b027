/**
 * A blue-green release with automatic rollback, rehearsed on this machine without Kubernetes (docs/blue-green.md):
 * blue = the product and order roles of a git ref (run from a worktree of it), green = the same roles from
 * this working tree, on the same databases and Kafka topics; one gateway (this working tree) whose upstreams
 * file is rewritten and reloaded with SIGHUP. Under a steady load it starts green (which migrates the shared
 * schemas while blue serves), smoke-tests green on its own ports and blue on green's schema, switches, watches
 * the failed-request ratio, rolls back when it passes the threshold, and reports what it measured.
 *
 *   npx node scripts/blue-green.ts --blue-ref <ref> [--fail-green] [--watch-seconds 15] [--threshold 0.02]
 *     [--rate 60] [--json]
 *
 * Exit status: 0 green promoted, 3 rolled back, 4 aborted before the switch (a smoke test failed), 1 error.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { signToken } from '../src/edge/http/auth.ts';
import { eventually } from '../test/support/http.ts';
import { uniqueSuffix } from '../test/support/mysql.ts';
import { freePort } from '../test/support/ports.ts';
import { integrationServices } from '../test/support/services.ts';
import { isolatedSplit } from '../test/support/split.ts';

const run = promisify(execFile);
const GREEN_DIR = resolve(import.meta.dirname, '..');
const JWT = { secret: `blue-green-rehearsal-key-${randomUUID()}`, issuer: 'hexashop', audience: 'hexashop-api' };
const EXIT = { promoted: 0, error: 1, rolledBack: 3, aborted: 4 } as const;

const { values: args } = parseArgs({
  options: {
    'blue-ref': { type: 'string', default: 'HEAD' },
    'fail-green': { type: 'boolean', default: false },
    'watch-seconds': { type: 'string', default: '15' },
    threshold: { type: 'string', default: '0.02' },
    rate: { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
  },
});
const WATCH_MS = Number(args['watch-seconds']) * 1000;
const THRESHOLD = Number(args.threshold);
const RATE = Number(args.rate);
/** The error ratio is judged over the requests that ended in this last stretch, once there are enough. */
const WINDOW_MS = 2000;
const MIN_WINDOW_REQUESTS = 10;
/** Requests that overlap [switch sent, switch applied + this] are "during the switch". */
const SWITCH_GRACE_MS = 1000;
/** After a rollback, the load keeps going this long to show the ratio back at 0. */
const AFTER_ROLLBACK_MS = 3000;

const log = (line: string) => {
  if (!args.json) console.log(line);
};

// ---------------------------------------------------------------------------------------------- processes

interface Role {
  name: string;
  url: string;
  child: ChildProcess;
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

async function startRole(name: string, cwd: string, role: string, env: NodeJS.ProcessEnv): Promise<Role> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['bin/hexashop.js', 'start', '--role', role, '--port', String(port)], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (c) => output.push(String(c)));
  child.stderr!.on('data', (c) => output.push(String(c)));
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const started: Role = {
    name,
    url,
    child,
    output,
    stop: async (signal = 'SIGTERM') => {
      if (running()) child.kill(signal);
      await exited;
    },
  };
  processes.push(started);
  await eventually(
    async () => {
      if (!running()) throw new Error(`${name} exited with ${child.exitCode}:\n${output.join('').slice(-3000)}`);
      const ready = await fetch(`${url}/health/ready`).catch(() => null);
      return ready?.ok ? true : undefined;
    },
    90_000,
    `${name} to be ready`,
  );
  return started;
}

const processes: Role[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

// ---------------------------------------------------------------------------------------------- load

interface Sample {
  kind: string;
  start: number;
  end: number;
  status: number;
  ok: boolean;
}

function steadyLoad(gateway: string, productIds: string[], customer: string) {
  const samples: Sample[] = [];
  const kinds = ['list', 'get', 'order-sync', 'order-async'] as const;
  const expected: Record<(typeof kinds)[number], number[]> = {
    list: [200],
    get: [200],
    // A sync order the product service could not settle at once is recorded PENDING (202): not a failure.
    'order-sync': [201, 202],
    'order-async': [202],
  };
  let stopped = false;
  let n = 0;
  const one = async () => {
    const kind = kinds[n % kinds.length]!;
    const productId = productIds[n % productIds.length]!;
    n += 1;
    const start = performance.now();
    let status = 0;
    try {
      const order = { productId, quantity: 1 };
      const response =
        kind === 'list'
          ? await fetch(`${gateway}/api/v1/products?limit=5`)
          : kind === 'get'
            ? await fetch(`${gateway}/api/v1/products/${productId}`)
            : await fetch(`${gateway}/api/v1/orders${kind === 'order-async' ? '?mode=async' : ''}`, {
                method: 'POST',
                headers: { authorization: `Bearer ${customer}`, 'content-type': 'application/json' },
                body: JSON.stringify({ items: [order] }),
              });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      status = 0;
    }
    samples.push({ kind, start, end: performance.now(), status, ok: expected[kind].includes(status) });
  };
  // Open-loop pacing: a request every 1/RATE s whatever the answers take (a slow green must not slow the load).
  const inFlight = new Set<Promise<void>>();
  const began = performance.now();
  const ticker = (async () => {
    for (let i = 0; !stopped; i++) {
      const p = one();
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      const wait = began + ((i + 1) * 1000) / RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await ticker;
      await Promise.all(inFlight);
    },
  };
}

const failed = (samples: Sample[]) => samples.filter((s) => !s.ok);
const overlapping = (samples: Sample[], from: number, to: number) =>
  samples.filter((s) => s.end >= from && s.start <= to);

// ---------------------------------------------------------------------------------------------- steps

async function api(base: string, method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * One color's smoke test on its own ports (no gateway): readiness, a product written and read back, a sync
 * order confirmed, an async order settled.
 */
async function smoke(product: string, order: string, admin: string, customer: string): Promise<string | null> {
  const expect = (what: string, got: { status: number; body: unknown }, status: number) => {
    if (got.status !== status) throw new Error(`${what}: ${got.status} ${JSON.stringify(got.body).slice(0, 300)}`);
  };
  try {
    for (const url of [product, order]) expect(`${url} ready`, await api(url, 'GET', '/health/ready'), 200);
    const sku = `BG-SMOKE-${uniqueSuffix()}`;
    const created = await api(product, 'POST', '/api/v1/products', admin, {
      sku,
      name: 'Smoke test',
      priceCents: 100,
      currency: 'EUR',
      stock: 10,
    });
    expect('create a product', created, 201);
    const id = created.body.id as string;
    expect('read it back', await api(product, 'GET', `/api/v1/products/${id}`), 200);
    const sync = await api(order, 'POST', '/api/v1/orders', customer, { items: [{ productId: id, quantity: 1 }] });
    expect('sync order', sync, 201);
    if (sync.body.status !== 'CONFIRMED') throw new Error(`sync order ${String(sync.body.status)}`);
    const async = await api(order, 'POST', '/api/v1/orders?mode=async', customer, {
      items: [{ productId: id, quantity: 1 }],
    });
    expect('async order', async, 202);
    await eventually(
      async () => {
        const read = await api(order, 'GET', `/api/v1/orders/${String(async.body.id)}`, customer);
        return read.body.status === 'CONFIRMED' ? true : undefined;
      },
      // Green's consumers joining blue's groups make Kafka rebalance them first: that can take seconds.
      60_000,
      'the async order to be confirmed',
    );
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Rewrites the upstreams file, sends SIGHUP, and returns how long until the gateway reports the new set. */
async function switchTo(
  gateway: Role,
  file: string,
  color: { product: string; order: string },
  admin: string,
): Promise<{ sent: number; applied: number }> {
  writeFileSync(file, JSON.stringify({ product: [color.product], order: [color.order] }));
  const sent = performance.now();
  gateway.child.kill('SIGHUP');
  await eventually(
    async () => {
      const { body } = await api(gateway.url, 'GET', '/gateway/upstreams', admin);
      const upstreams = body.upstreams as Record<string, { url: string }[]> | undefined;
      const now = (s: string) => upstreams?.[s]?.map((i) => i.url).join(',');
      return now('product') === color.product && now('order') === color.order ? true : undefined;
    },
    10_000,
    'the gateway to report the new upstreams',
  );
  return { sent, applied: performance.now() };
}

// ---------------------------------------------------------------------------------------------- rehearsal

export interface Report {
  blueRef: string;
  blueCommit: string;
  failGreen: boolean;
  decision: 'promoted' | 'rolled-back' | 'aborted';
  reason: string | null;
  requests: { total: number; failed: number; byStatus: Record<string, number> };
  /** Failed requests while green started and migrated the shared schemas, blue serving. */
  failedWhileGreenMigrated: number;
  /** Blue's own smoke test, run on the schema green migrated to. */
  blueOnGreenSchema: string | null;
  greenSmoke: string | null;
  failedDuringSwitch: number | null;
  switchMs: number | null;
  watchedMs: number | null;
  maxErrorRatio: number | null;
  /** From the switch to the rollback decision. */
  detectMs: number | null;
  /** From the rollback decision until the gateway serves blue again. */
  rollbackMs: number | null;
  /** Failed requests among those sent after the rollback was applied. */
  failedAfterRollback: number | null;
  /** The `code` of the gateway's warnings and errors, counted: why requests failed, as it saw it. */
  gatewayCodes: Record<string, number>;
}

async function rehearse(): Promise<Report> {
  const services = await integrationServices();
  const isolated = isolatedSplit(services, 'bg');
  const { suffix, dataDir } = isolated;
  cleanups.push(() => isolated.dispose());
  const upstreamsFile = join(dataDir, 'upstreams.json');

  // Blue: a worktree of the ref, sharing this checkout's node_modules.
  const blueDir = join(tmpdir(), `hexashop-blue-${suffix}`);
  const blueRef = args['blue-ref'];
  await run('git', ['worktree', 'add', '--detach', blueDir, blueRef], { cwd: GREEN_DIR });
  cleanups.push(() => run('git', ['worktree', 'remove', '--force', blueDir], { cwd: GREEN_DIR }));
  symlinkSync(join(GREEN_DIR, 'node_modules'), join(blueDir, 'node_modules'));
  const blueCommit = (await run('git', ['rev-parse', 'HEAD'], { cwd: blueDir })).stdout.trim();

  const env: NodeJS.ProcessEnv = {
    ...isolated.env,
    HEXASHOP_RATE_LIMIT_READ: '1000000',
    HEXASHOP_RATE_LIMIT_WRITE: '1000000',
    HEXASHOP_JWT_SECRET: JWT.secret,
    HEXASHOP_LOG_LEVEL: 'warn',
  };
  const green = (role: string, extra: NodeJS.ProcessEnv = {}) =>
    startRole(`green ${role}`, GREEN_DIR, role, { ...env, ...extra });
  const blue = (role: string, extra: NodeJS.ProcessEnv = {}) =>
    startRole(`blue ${role}`, blueDir, role, { ...env, ...extra });
  await isolated.provision();

  const admin = signToken(JWT, { id: 'bg-admin', role: 'admin' }, 3600);
  const customer = signToken(JWT, { id: 'bg-customer', role: 'customer' }, 3600);

  log(`blue: ${blueRef} (${blueCommit.slice(0, 12)}) in ${blueDir}; green: ${GREEN_DIR}`);
  const blueProduct = await blue('product');
  const blueOrder = await blue('order', { HEXASHOP_PRODUCT_URL: blueProduct.url });
  const blueUrls = { product: blueProduct.url, order: blueOrder.url };
  writeFileSync(upstreamsFile, JSON.stringify({ product: [blueProduct.url], order: [blueOrder.url] }));
  const gateway = await startRole('gateway', GREEN_DIR, 'gateway', {
    ...env,
    HEXASHOP_UPSTREAMS_FILE: upstreamsFile,
    HEXASHOP_LOG_LEVEL: 'info',
  });
  log(`blue product ${blueProduct.url}, blue order ${blueOrder.url}, gateway ${gateway.url}`);

  const productIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const created = await api(gateway.url, 'POST', '/api/v1/products', admin, {
      sku: `BG-${suffix}-${i}`,
      name: `Rehearsal ${i}`,
      priceCents: 250 + i,
      currency: 'EUR',
      stock: 1_000_000,
    });
    if (created.status !== 201) throw new Error(`seeding a product: ${created.status}`);
    productIds.push(created.body.id as string);
  }

  const load = steadyLoad(gateway.url, productIds, customer);
  const report: Report = {
    blueRef,
    blueCommit,
    failGreen: args['fail-green'],
    decision: 'aborted',
    reason: null,
    requests: { total: 0, failed: 0, byStatus: {} },
    failedWhileGreenMigrated: 0,
    blueOnGreenSchema: null,
    greenSmoke: null,
    failedDuringSwitch: null,
    switchMs: null,
    watchedMs: null,
    maxErrorRatio: null,
    detectMs: null,
    rollbackMs: null,
    failedAfterRollback: null,
    gatewayCodes: {},
  };
  try {
    // Green starts on the same schemas and migrates them while blue serves the load.
    await new Promise((r) => setTimeout(r, 1000));
    const greenStarted = performance.now();
    const greenProduct = await green('product');
    const greenOrder = await green('order', { HEXASHOP_PRODUCT_URL: greenProduct.url });
    const greenUrls = { product: greenProduct.url, order: greenOrder.url };
    report.failedWhileGreenMigrated = failed(overlapping(load.samples, greenStarted, performance.now())).length;
    log(`green product ${greenProduct.url}, green order ${greenOrder.url} (migrated)`);

    report.blueOnGreenSchema = await smoke(blueProduct.url, blueOrder.url, admin, customer);
    report.greenSmoke = await smoke(greenProduct.url, greenOrder.url, admin, customer);
    log(`smoke: blue on green's schema ${report.blueOnGreenSchema ?? 'ok'}, green ${report.greenSmoke ?? 'ok'}`);
    if (report.greenSmoke !== null || report.blueOnGreenSchema !== null) {
      report.reason = `smoke test failed: ${report.greenSmoke ?? report.blueOnGreenSchema}`;
      return report;
    }

    const switched = await switchTo(gateway, upstreamsFile, greenUrls, admin);
    report.switchMs = Math.round(switched.applied - switched.sent);
    log(`switched to green in ${report.switchMs} ms`);
    await new Promise((r) => setTimeout(r, SWITCH_GRACE_MS));
    report.failedDuringSwitch = failed(
      overlapping(load.samples, switched.sent, switched.applied + SWITCH_GRACE_MS),
    ).length;

    // The fault --fail-green injects: green's order instance dies under production traffic, as a bad release would.
    if (args['fail-green']) await greenOrder.stop('SIGKILL');

    let maxRatio = 0;
    let decidedAt: number | null = null;
    const watchStart = performance.now();
    while (performance.now() - watchStart < WATCH_MS) {
      await new Promise((r) => setTimeout(r, 250));
      const now = performance.now();
      const recent = load.samples.filter((s) => s.start >= switched.applied && s.end >= now - WINDOW_MS);
      if (recent.length < MIN_WINDOW_REQUESTS) continue;
      const ratio = failed(recent).length / recent.length;
      maxRatio = Math.max(maxRatio, ratio);
      if (ratio > THRESHOLD) {
        decidedAt = now;
        report.reason = `error ratio ${(ratio * 100).toFixed(1)} % over the last ${WINDOW_MS / 1000} s > ${THRESHOLD * 100} %`;
        break;
      }
    }
    report.watchedMs = Math.round(performance.now() - watchStart);
    report.maxErrorRatio = Number(maxRatio.toFixed(4));
    if (decidedAt === null) {
      report.decision = 'promoted';
      return report;
    }

    report.detectMs = Math.round(decidedAt - switched.applied);
    log(`rolling back: ${report.reason}`);
    const back = await switchTo(gateway, upstreamsFile, blueUrls, admin);
    report.rollbackMs = Math.round(back.applied - decidedAt);
    report.decision = 'rolled-back';
    await new Promise((r) => setTimeout(r, AFTER_ROLLBACK_MS));
    report.failedAfterRollback = failed(load.samples.filter((s) => s.start >= back.applied)).length;
    return report;
  } finally {
    await load.stop();
    const byStatus: Record<string, number> = {};
    for (const s of load.samples) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    report.requests = { total: load.samples.length, failed: failed(load.samples).length, byStatus };
    for (const line of gateway.output.join('').split('\n')) {
      const entry = jsonLine(line);
      if ((entry?.level === 'warn' || entry?.level === 'error') && typeof entry.code === 'string') {
        report.gatewayCodes[entry.code] = (report.gatewayCodes[entry.code] ?? 0) + 1;
      }
    }
  }
}

function jsonLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function teardown(): Promise<void> {
  // The gateway first, so nothing more reaches the services; then the roles, then what they used.
  for (const role of [...processes].reverse()) await role.stop('SIGTERM');
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
  }
}

function print(report: Report): void {
  if (args.json) return void console.log(JSON.stringify(report));
  const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);
  console.log(
    [
      '',
      `decision                       ${report.decision}${report.reason ? ` (${report.reason})` : ''}`,
      `blue                           ${report.blueRef} ${report.blueCommit.slice(0, 12)}`,
      `requests                       ${report.requests.total}, failed ${report.requests.failed} ${JSON.stringify(report.requests.byStatus)}`,
      `failed while green migrated    ${report.failedWhileGreenMigrated}`,
      `blue on green's schema         ${report.blueOnGreenSchema ?? 'ok'}`,
      `failed during the switch       ${report.failedDuringSwitch ?? '-'}`,
      `time to switch                 ${ms(report.switchMs)}`,
      `max error ratio while watched  ${report.maxErrorRatio ?? '-'} over ${ms(report.watchedMs)}`,
      `time to detect                 ${ms(report.detectMs)}`,
      `time to roll back              ${ms(report.rollbackMs)}`,
      `failed after the rollback      ${report.failedAfterRollback ?? '-'}`,
      `gateway warnings               ${JSON.stringify(report.gatewayCodes)}`,
    ].join('\n'),
  );
}

process.once('SIGINT', () => void teardown().finally(() => process.exit(130)));
try {
  const report = await rehearse();
  await teardown();
  print(report);
  process.exitCode =
    report.decision === 'promoted' ? EXIT.promoted : report.decision === 'rolled-back' ? EXIT.rolledBack : EXIT.aborted;
} catch (error) {
  for (const role of processes) console.error(`--- ${role.name}\n${role.output.join('').slice(-3000)}`);
  console.error(error instanceof Error ? error.message : String(error));
  await teardown();
  process.exitCode = EXIT.error;
}
