import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { ReadinessCheck } from '../../src/edge/http-app.ts';
import { signToken } from '../../src/edge/http/auth.ts';
import { BootTokens } from '../../src/bootstrap/wiring/boot-tokens.ts';
import { type RoleProcess, spawnRole } from '../support/cli.ts';
import { call, eventually, type HttpResult } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { recordingLogger, startTestRole, TEST_JWT_SECRET } from '../support/roles.ts';
import { serveHttp } from '../../src/bootstrap/http-server.ts';
import { TEST_SETTINGS } from '../support/shop.ts';
import { printLogsOnFailure, type SplitTopology, startSplit } from '../support/split.ts';
import {
  listen,
  productDependencies,
  productModuleOn,
  startProductService,
  type TestServer,
} from '../support/product-service.ts';
import type { ProductUseCases } from '../../src/modules/product/application/product-use-cases.ts';
import { ProductTokens } from '../../src/modules/product/product.module.ts';

/** Whether the slow front of the product service has a request in hand. */
const slowStarted = (slow: TestServer) =>
  new Promise<boolean>((resolve) => slow.server.getConnections((_, n) => resolve(n > 0)));

const JWT = { secret: TEST_JWT_SECRET, issuer: 'hexashop', audience: 'hexashop-api' };
const SHUTDOWN_TIMEOUT_MS = 10_000;

interface Outcome {
  mode: 'sync' | 'async';
  status: number | 'error';
  orderId?: string;
  orderStatus?: string;
  error?: string;
}

interface Target {
  url: string;
  /** Sends SIGTERM; resolves with the exit code and the process's output. */
  terminate(): Promise<{ code: number | null; output: string }>;
}

/**
 * A steady load of sync and async orders from `clients` concurrent clients, each sending its next request
 * as soon as the last one answered, as a real client does; SIGTERM after `terminateAfter` accepted orders.
 * Every outcome is recorded; a client stops once a request fails while the process is gone.
 */
async function loadAndTerminate(target: Target, token: string, productIds: string[], terminateAfter = 40) {
  const outcomes: Outcome[] = [];
  let accepted = 0;
  let exited = false;
  let signalled: (() => void) | undefined;
  const terminated = new Promise<void>((resolve) => (signalled = resolve));
  const client = async (n: number) => {
    for (let i = 0; !exited; i++) {
      const mode = (n + i) % 2 === 0 ? 'sync' : 'async';
      const productId = productIds[(n + i) % productIds.length]!;
      try {
        const r = await call(target.url, 'POST', `/api/v1/orders?mode=${mode}`, {
          token,
          body: { items: [{ productId, quantity: 1 }] },
        });
        outcomes.push({ mode, status: r.status, orderId: r.body?.id, orderStatus: r.body?.status });
        if (r.status >= 200 && r.status < 300 && ++accepted === terminateAfter) signalled!();
      } catch (error) {
        outcomes.push({ mode, status: 'error', error: String((error as Error).cause ?? error) });
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const clients = Array.from({ length: 8 }, (_, n) => client(n));
  await terminated;
  const started = Date.now();
  const { code, output } = await target.terminate();
  const tookMs = Date.now() - started;
  exited = true;
  await Promise.all(clients);
  return { outcomes, code, output, tookMs };
}

/** After the restart: every accepted order is recorded and reaches a final state; stock adds up. */
async function checkHistory(
  url: string,
  adminToken: string,
  outcomes: Outcome[],
  products: Map<string, number>,
  productUrl = url,
) {
  const accepted = outcomes.filter((o) => typeof o.status === 'number' && o.status >= 200 && o.status < 300);
  expect(accepted.length).to.be.greaterThan(0);
  for (const o of accepted) {
    expect(o.orderId, JSON.stringify(o)).to.be.a('string');
    if (o.status === 201) expect(['CONFIRMED', 'REJECTED']).to.include(o.orderStatus);
  }
  // Sync orders left PENDING by a crash are settled when their guard falls due (30 s): the bound.
  for (const o of accepted) {
    await eventually(
      async () => {
        const r = await call(url, 'GET', `/api/v1/orders/${o.orderId}`, { token: adminToken });
        expect(r.status, `accepted order ${o.orderId} (${o.mode}, ${o.status}) is recorded`).to.equal(200);
        return r.body.status === 'PENDING' ? undefined : r.body.status;
      },
      45_000,
      `order ${o.orderId} to settle`,
    );
    // What a 201 said is what happened.
    if (o.status === 201) {
      const r = await call(url, 'GET', `/api/v1/orders/${o.orderId}`, { token: adminToken });
      expect(r.body.status).to.equal(o.orderStatus);
    }
  }
  // Stock taken = quantities of the confirmed orders, whatever the clients learned (nothing reserved twice).
  const confirmed = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const page: HttpResult<OrderPage> = await call<OrderPage>(
      url,
      'GET',
      `/api/v1/orders?limit=100&status=CONFIRMED${cursor ? `&cursor=${cursor}` : ''}`,
      {
        token: adminToken,
      },
    );
    for (const order of page.body.items) {
      for (const item of order.items)
        confirmed.set(item.productId, (confirmed.get(item.productId) ?? 0) + item.quantity);
    }
    cursor = page.body.nextCursor;
  } while (cursor);
  for (const [id, initial] of products) {
    const now = (await call(productUrl, 'GET', `/api/v1/products/${id}`)).body.stock;
    expect(initial - now, `stock of ${id}`).to.equal(confirmed.get(id) ?? 0);
  }
}

async function createProducts(url: string, adminToken: string, count: number, stock: number) {
  const products = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const r = await call(url, 'POST', '/api/v1/products', {
      token: adminToken,
      body: { sku: `SHUT-${Date.now()}-${i}`, name: 'Load', priceCents: 100, currency: 'EUR', stock },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    products.set(r.body.id, stock);
  }
  return products;
}

interface OrderPage {
  items: { items: { productId: string; quantity: number }[] }[];
  nextCursor: string | null;
}

const POOL_CLOSED = /Pool is closed|could not release the crash guard/;

describe('shutdown on SIGTERM under load: the monolith', function () {
  this.timeout(240_000);
  let dataDir: string;
  let port: number;
  let run: RoleProcess | undefined;
  const env = () => ({
    ...process.env,
    HEXASHOP_DATA_DIR: dataDir,
    HEXASHOP_JWT_SECRET: TEST_JWT_SECRET,
    HEXASHOP_RATE_LIMIT_READ: '1000000',
    HEXASHOP_RATE_LIMIT_WRITE: '1000000',
    HEXASHOP_LOG_LEVEL: 'warn',
    HEXASHOP_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  });
  const start = async () => {
    run = spawnRole('monolith', port, env());
    await run.ready(`http://127.0.0.1:${port}`);
    return run;
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hexashop-shutdown-'));
    port = await freePort();
  });
  after(async () => {
    await run?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no accepted order, leaves none unsettled, and exits 0 within the drain timeout', async () => {
    const url = `http://127.0.0.1:${port}`;
    const admin = signToken(JWT, { id: 'admin-1', role: 'admin' }, 3600);
    const customer = signToken(JWT, { id: 'load-1', role: 'customer' }, 3600);
    let first = await start();
    const products = await createProducts(url, admin, 3, 100_000);
    const { outcomes, code, output, tookMs } = await loadAndTerminate(
      {
        url,
        terminate: async () => {
          await first.stop('SIGTERM');
          return { code: await first.exited, output: first.output() };
        },
      },
      customer,
      [...products.keys()],
    );
    expectCleanStop({ outcomes, code, output, tookMs });
    first = await start();
    await checkHistory(url, admin, outcomes, products);
  });
});

/** The process exited 0 within the drain bound, closed no pool under a handler, and answered no 500. */
function expectCleanStop({ outcomes, code, output, tookMs }: Awaited<ReturnType<typeof loadAndTerminate>>): void {
  expect(code, output.slice(-3000)).to.equal(0);
  expect(tookMs).to.be.below(SHUTDOWN_TIMEOUT_MS + 5_000);
  expect(output).not.to.match(POOL_CLOSED);
  expect(
    outcomes.filter((o) => o.status === 500),
    'no 500',
  ).to.deep.equal([]);
}

describe('shutdown on SIGTERM under load: the split order role (MySQL, Kafka, product over HTTP)', function () {
  this.timeout(300_000);
  let split: SplitTopology | undefined;
  before(async () => {
    split = await startSplit({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
  });
  afterEach(printLogsOnFailure(() => split));
  after(() => split?.dispose());

  it('loses no accepted order, leaves none unsettled, and exits 0 within the drain timeout', async () => {
    const topology = split!;
    const admin = topology.token({ id: 'admin-1', role: 'admin' });
    const customer = topology.token({ id: 'load-1', role: 'customer' });
    const products = await createProducts(topology.urls.product, admin, 3, 100_000);
    const { outcomes, code, output, tookMs } = await loadAndTerminate(
      { url: topology.urls.order, terminate: () => topology.terminate('order') },
      customer,
      [...products.keys()],
    );
    expectCleanStop({ outcomes, code, output, tookMs });
    await topology.start('order');
    await checkHistory(topology.urls.order, admin, outcomes, products, topology.urls.product);
  });
});

describe('shutdown: readiness and handlers whose client has gone', function () {
  this.timeout(120_000);

  it('answers not ready from the moment stopping starts', async () => {
    const role = await startTestRole({ role: 'monolith', ...TEST_SETTINGS });
    const checks = await role.running.container.getAllAsync<ReadinessCheck>(BootTokens.Readiness);
    const lifecycle = checks.find((c) => c.name === 'lifecycle')!;
    expect(await lifecycle.check()).to.equal(null);
    const stopping = role.stop();
    expect(await lifecycle.check()).to.equal('shutting down');
    await stopping;
  });

  it('waits for a sync order whose client went away before closing the database (slow product service)', async () => {
    // The order role, whose sync path calls the product service over HTTP; that service answers after 1.5 s.
    const jwt = { secret: TEST_JWT_SECRET, issuer: 'hexashop', audience: 'hexashop-api' };
    const deps = productDependencies();
    const product = await productModuleOn(deps)
      .get<ProductUseCases>(ProductTokens.UseCases)
      .createProduct(
        { sku: 'SLOW-1', name: 'Slow', description: '', priceCents: 100, currency: 'EUR', stock: 10 },
        'test',
      );
    const service = await startProductService(jwt, deps);
    const slow = await listen((req, res) => void setTimeout(() => service.server.emit('request', req, res), 1_500));
    const dataDir = mkdtempSync(join(tmpdir(), 'hexashop-shutdown-'));
    const settings = { role: 'order', mode: 'sync', productUrl: slow.url, ...TEST_SETTINGS };
    try {
      let role = await startTestRole(settings, { dataDir });
      const customer = role.token({ id: 'gone-1', role: 'customer' });
      const controller = new AbortController();
      const sent = fetch(`${role.url}/api/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${customer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ productId: product.id, quantity: 2 }] }),
        signal: controller.signal,
      }).catch(() => null);
      await eventually(async () => (service.deps && (await slowStarted(slow)) ? true : undefined), 5_000, 'the call');
      controller.abort();
      await sent;
      const started = Date.now();
      await role.stop();
      expect(Date.now() - started, 'waited for the handler').to.be.above(500);
      const errors = role.logger.lines.filter((l) => l.level === 'error' || l.level === 'warn');
      expect(errors.map((l) => `${l.message} ${JSON.stringify(l.meta)}`).join('\n')).not.to.match(POOL_CLOSED);
      role = await startTestRole(settings, { dataDir });
      try {
        const admin = role.token({ id: 'admin-1', role: 'admin' });
        const all = await call(role.url, 'GET', '/api/v1/orders?limit=100', { token: admin });
        expect(
          all.body.items.map((o: { status: string }) => o.status),
          'settled before the stop',
        ).to.deep.equal(['CONFIRMED']);
      } finally {
        await role.stop();
      }
    } finally {
      await slow.close();
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('close() waits for a handler whose client went away, not only for its connection', async () => {
    // Without the wait for handlers in flight, close() returns once the aborted connection is gone, while
    // the handler still works on (and the databases would close under it).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let handlerDone = false;
    const app: RequestListener = (_req, res) => {
      entered();
      void held.then(() => {
        handlerDone = true;
        res.end('done');
      });
    };
    const listener = await serveHttp(app, { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 10_000 }, recordingLogger());
    const controller = new AbortController();
    const sent = fetch(listener.url, { signal: controller.signal }).catch(() => null);
    await inHandler;
    controller.abort();
    await sent;
    let closed = false;
    const closing = listener.close().then(() => (closed = true));
    await sleep(300);
    expect(closed, 'close() returned while a handler was still in flight').to.equal(false);
    release();
    await closing;
    expect(handlerDone).to.equal(true);
  });
});
