import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { expect } from 'chai';
import { orderMigrations } from '../../src/adapters/persistence/mikro-orm/order/order.migrations.ts';
import { productMigrations } from '../../src/adapters/persistence/mikro-orm/product/product.migrations.ts';
import { call, eventually, type HttpResult } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import {
  createProduct,
  getOrder,
  listAllOrders,
  type Order,
  type Product,
  placeOrder,
  settled,
  stockOf,
  TEST_SETTINGS,
} from '../support/shop.ts';

/** Rows of a table in one module's SQLite file, read with a separate connection while the platform is down. */
function rows(dataDir: string, module: 'product' | 'order', sql: string): Record<string, unknown>[] {
  const db = new DatabaseSync(join(dataDir, `${module}_db.sqlite`), {
    readOnly: true,
  });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const migrationNames = (dataDir: string, module: 'product' | 'order') =>
  rows(dataDir, module, 'select name from schema_migrations order by id').map((r) => String(r.name));

/** Every migration the code defines, each recorded exactly once. */
const ALL_MIGRATIONS = {
  product: productMigrations('sqlite').map((m) => m.name),
  order: orderMigrations('sqlite').map((m) => m.name),
};

describe('restart on the same data dir', () => {
  let dataDir: string;
  let platform: TestPlatform | undefined;
  // Everything below is made by the first process and checked by the later ones.
  let adminToken: string;
  let aliceToken: string;
  let teapot: Product;
  let kettle: Product;
  let confirmed: Order;
  let rejected: Order;
  let cancelled: Order;
  let keyed: HttpResult<Order>;
  let pending: Order[];
  let halfway: Order;
  let signingKey: string;

  before(async function () {
    this.timeout(60_000);
    dataDir = mkdtempSync(join(tmpdir(), 'hexashop-restart-'));
    const first = await startMonolith({ ...TEST_SETTINGS }, dataDir);
    platform = first;
    adminToken = first.token({ id: 'admin-r', role: 'admin' });
    aliceToken = first.token({ id: 'alice-r', role: 'customer' });
    signingKey = readFileSync(join(dataDir, 'jwt-signing-key'), 'utf8');

    teapot = await createProduct(first, {
      name: 'Teapot',
      stock: 20,
      priceCents: 300,
    });
    kettle = await createProduct(first, {
      name: 'Kettle',
      stock: 1,
      priceCents: 900,
    });
    const order = async (items: { productId: string; quantity: number }[], headers?: Record<string, string>) =>
      placeOrder(first, aliceToken, items, headers ? { headers } : {});

    confirmed = (await order([{ productId: teapot.id, quantity: 2 }])).body;
    rejected = (await order([{ productId: kettle.id, quantity: 5 }])).body;
    cancelled = (await order([{ productId: teapot.id, quantity: 1 }])).body;
    const cancel = await call<Order>(first.url, 'POST', `/api/v1/orders/${cancelled.id}/cancel`, { token: aliceToken });
    expect(cancel.status).to.equal(200);
    cancelled = cancel.body;
    keyed = await order([{ productId: teapot.id, quantity: 1 }], {
      'idempotency-key': 'restart-key-1',
    });
    expect([confirmed.status, rejected.status, cancelled.status, keyed.body.status]).to.deep.equal([
      'CONFIRMED',
      'REJECTED',
      'CANCELLED',
      'CONFIRMED',
    ]);
    expect(await stockOf(first, teapot.id)).to.equal(17);

    // Halfway: the product module has reserved (stock taken) but StockReserved has not reached the order module.
    const [productRelay, orderRelay] = first.running.relays as [
      (typeof first.running.relays)[0],
      (typeof first.running.relays)[0],
    ];
    await productRelay.stop();
    const half = await placeOrder(first, aliceToken, [{ productId: teapot.id, quantity: 4 }], { query: '?mode=async' });
    expect(half.status).to.equal(202);
    await orderRelay.drain(); // OrderPlaced → product module reserves, its StockReserved stays in its outbox
    halfway = (await getOrder(first, aliceToken, half.body.id)).body;
    expect(halfway.status).to.equal('PENDING');
    expect(await stockOf(first, teapot.id)).to.equal(13);

    // Not started at all: OrderPlaced still in the order module's outbox when the process stops.
    await orderRelay.stop();
    pending = [];
    for (const quantity of [1, 2, 3]) {
      const r = await placeOrder(first, aliceToken, [{ productId: teapot.id, quantity }], { query: '?mode=async' });
      expect(r.status).to.equal(202);
      expect(r.body.status).to.equal('PENDING');
      pending.push(r.body);
    }
    expect(await stockOf(first, teapot.id)).to.equal(13);
    await first.stop();
    platform = undefined;
  });

  afterEach(async () => {
    await platform?.stop();
    platform = undefined;
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('left the schema migrated once per database and the work in flight recorded', () => {
    expect(migrationNames(dataDir, 'product')).to.deep.equal(ALL_MIGRATIONS.product);
    expect(migrationNames(dataDir, 'order')).to.deep.equal(ALL_MIGRATIONS.order);
    const stillPending = rows(dataDir, 'order', "select id from orders where status = 'PENDING' order by id");
    expect(stillPending.map((r) => r.id)).to.deep.equal([halfway, ...pending].map((o) => o.id).sort());
  });

  it('starts again on the same data dir with its data, its signing key and no new migrations', async () => {
    platform = await startMonolith({ ...TEST_SETTINGS }, dataDir);
    expect(readFileSync(join(dataDir, 'jwt-signing-key'), 'utf8')).to.equal(signingKey);

    // Tokens signed before the restart still work, for reads and writes.
    const products = await call<{ items: Product[] }>(platform.url, 'GET', '/api/v1/products', { token: adminToken });
    expect(products.status).to.equal(200);
    expect(products.body.items.map((p) => p.id)).to.have.members([teapot.id, kettle.id]);
    const kettleNow = products.body.items.find((p) => p.id === kettle.id)!;
    expect(kettleNow).to.deep.equal(kettle);

    for (const before of [confirmed, rejected, cancelled]) {
      const r = await getOrder(platform, aliceToken, before.id);
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal(before);
    }
    const all = await listAllOrders(platform, adminToken);
    expect(all).to.have.length(8);

    expect(migrationNames(dataDir, 'product')).to.deep.equal(ALL_MIGRATIONS.product);
    expect(migrationNames(dataDir, 'order')).to.deep.equal(ALL_MIGRATIONS.order);
  });

  it('settles the orders left PENDING across the restart, taking their stock exactly once', async () => {
    platform = await startMonolith({ ...TEST_SETTINGS }, dataDir);
    const final = await Promise.all([halfway, ...pending].map((o) => settled(platform!, aliceToken, o.id)));
    expect(final.map((o) => o.status)).to.deep.equal(['CONFIRMED', 'CONFIRMED', 'CONFIRMED', 'CONFIRMED']);
    // 20 - 2 (confirmed) - 1 (keyed) - 4 (halfway) - 1 - 2 - 3 (pending); the cancelled one came back.
    expect(await stockOf(platform, teapot.id)).to.equal(7);
  });

  it('keeps serving after a restart: the catalog replica, idempotency keys and cancellation survive', async () => {
    platform = await startMonolith({ ...TEST_SETTINGS, mode: 'async' }, dataDir);
    // The order module knows the products without any product event being replayed.
    const fresh = await placeOrder(platform, aliceToken, [{ productId: kettle.id, quantity: 1 }], {
      query: '?mode=sync',
    });
    expect(fresh.status).to.equal(201);
    expect(fresh.body.status).to.equal('CONFIRMED');
    expect(await stockOf(platform, kettle.id)).to.equal(0);

    const replay = await placeOrder(platform, aliceToken, [{ productId: teapot.id, quantity: 1 }], {
      headers: { 'idempotency-key': 'restart-key-1' },
    });
    expect(replay.status).to.equal(keyed.status);
    expect(replay.body.id).to.equal(keyed.body.id);

    const cancel = await call<Order>(platform.url, 'POST', `/api/v1/orders/${confirmed.id}/cancel`, {
      token: aliceToken,
    });
    expect(cancel.status).to.equal(200);
    expect(cancel.body.status).to.equal('CANCELLED');
    await settled(platform, aliceToken, confirmed.id);
    await eventually(async () => ((await stockOf(platform!, teapot.id)) === 9 ? true : undefined), 10_000, 'release');
    expect(await stockOf(platform, teapot.id)).to.equal(9);
  });

  it('loses no accepted order when stopped in the middle of a burst of orders', async () => {
    platform = await startMonolith({ ...TEST_SETTINGS, mode: 'async' }, dataDir);
    const stopping = platform;
    const burstItem = await createProduct(stopping, { name: 'Burst', stock: 12 });
    const inFlight = Array.from({ length: 24 }, (_, i) =>
      placeOrder(stopping, aliceToken, [{ productId: burstItem.id, quantity: 1 }], {
        query: i % 2 === 0 ? '?mode=async' : '?mode=sync',
      }),
    );
    const requests = Promise.allSettled(inFlight);
    // Stop as soon as the first answer is in, with the rest in flight: the server finishes what it accepted.
    await Promise.any(inFlight);
    const stopStarted = Date.now();
    await stopping.stop();
    // Connections that were busy at the stop are closed as their responses go out, not after a grace period.
    expect(Date.now() - stopStarted).to.be.below(3_000);
    platform = undefined;
    const outcomes = await requests;
    const accepted = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.status < 300 ? [o.value.body] : []));
    expect(accepted.length).to.be.at.least(1);
    for (const o of outcomes) if (o.status === 'fulfilled') expect(o.value.status).to.be.oneOf([201, 202]);

    platform = await startMonolith({ ...TEST_SETTINGS }, dataDir);
    const final = await Promise.all(accepted.map((o) => settled(platform!, aliceToken, o.id)));
    const confirmed = final.filter((o) => o.status === 'CONFIRMED');
    expect(final.every((o) => o.status === 'CONFIRMED' || o.rejectionReason === 'INSUFFICIENT_STOCK')).to.equal(true);
    expect(confirmed.length).to.equal(Math.min(12, accepted.length));
    expect(await stockOf(platform, burstItem.id)).to.equal(12 - confirmed.length);
    // Nothing beyond the accepted orders was recorded for the product.
    const all = await listAllOrders(platform, adminToken);
    const forBurst = all.filter((o) => o.items.some((i) => i.productId === burstItem.id));
    expect(forBurst.map((o) => o.id).sort()).to.deep.equal(accepted.map((o) => o.id).sort());
  });

  it('has applied no migration twice after all these starts', () => {
    expect(migrationNames(dataDir, 'product')).to.deep.equal(ALL_MIGRATIONS.product);
    expect(migrationNames(dataDir, 'order')).to.deep.equal(ALL_MIGRATIONS.order);
    const orders = rows(dataDir, 'order', 'select status, count(*) as n from orders group by status order by status');
    const burst = rows(dataDir, 'order', 'select count(*) as n from orders where items like \'%"name":"Burst"%\'')[0]!
      .n as number;
    expect(burst).to.be.greaterThan(0);
    // Besides the burst: 2 cancelled, 6 confirmed and 1 rejected from the earlier steps.
    const counts = Object.fromEntries(orders.map((r) => [r.status, Number(r.n)]));
    expect((counts.CANCELLED ?? 0) + (counts.CONFIRMED ?? 0) + (counts.REJECTED ?? 0)).to.equal(9 + burst);
    expect(counts.CANCELLED).to.equal(2);
    expect(counts.PENDING).to.equal(undefined);
  });
});
