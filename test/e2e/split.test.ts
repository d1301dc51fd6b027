import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { call, eventually } from '../support/http.ts';
import { readTopic } from '../support/kafka.ts';
import { integrationServices } from '../support/services.ts';
import { type SplitTopology, printLogsOnFailure, startSplit } from '../support/split.ts';

/**
 * The split topology end to end: gateway, product and order as three processes on MariaDB/MySQL, Kafka and
 * Redis, driven only through the gateway's public API, exactly as a client would.
 */
describe('split topology end to end (gateway + product + order on MySQL and Kafka)', function () {
  this.timeout(180_000);
  let split: SplitTopology;
  let admin: string;
  let alice: string;
  let bob: string;
  let skuCounter = 0;

  before(async () => {
    split = await startSplit();
    admin = split.token({ id: 'root', role: 'admin' });
    alice = split.token({ id: 'alice', role: 'customer' });
    bob = split.token({ id: 'bob', role: 'customer' });
  });
  after(async () => {
    await split?.dispose();
  });
  afterEach(printLogsOnFailure(() => split));

  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}) =>
    call(split.url, method, path, options);

  /**
   * Creates a product and returns at once, as a client would: nothing here waits for the order service's
   * catalog replica to learn it (flow 1 of the seed runs behind, and orders must not depend on it).
   */
  async function product(stock: number, priceCents = 500) {
    const created = await api('POST', '/api/v1/products', {
      token: admin,
      body: { sku: `E2E-${Date.now()}-${++skuCounter}`, name: 'E2E thing', priceCents, currency: 'EUR', stock },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    return created.body.id as string;
  }

  /** The product's stock, as soon as the product service answers through the gateway. */
  const stockOf = (id: string) =>
    eventually(
      async () => {
        const read = await api('GET', `/api/v1/products/${id}`);
        return read.status === 200 ? (read.body.stock as number) : undefined;
      },
      30_000,
      'the product service to answer',
    );
  const orderOf = async (id: string, token = alice) => (await api('GET', `/api/v1/orders/${id}`, { token })).body;
  const settled = (id: string, token = alice) =>
    eventually(
      async () => {
        const order = await orderOf(id, token);
        return order.status === 'PENDING' ? undefined : order;
      },
      60_000,
      `order ${id} to settle`,
    );

  it("creates a product through the gateway and confirms an order for it at the product service's price", async () => {
    const id = await product(5, 700);
    const placed = await api('POST', '/api/v1/orders', {
      token: alice,
      body: { items: [{ productId: id, quantity: 2 }] },
    });
    expect(placed.status).to.equal(201);
    expect(placed.body).to.include({ status: 'CONFIRMED', totalCents: 1400, currency: 'EUR', customerId: 'alice' });
    expect(placed.body.items[0]).to.include({ productId: id, unitPriceCents: 700, quantity: 2 });
    expect(await stockOf(id)).to.equal(3);
  });

  it('places an async order: 202 PENDING, then CONFIRMED through order-events and product-events', async () => {
    const id = await product(3);
    const placed = await api('POST', '/api/v1/orders', {
      token: alice,
      headers: { prefer: 'respond-async' },
      body: { items: [{ productId: id, quantity: 3 }] },
    });
    expect(placed.status).to.equal(202);
    expect(placed.headers.get('preference-applied')).to.equal('respond-async');
    expect(placed.headers.get('location')).to.equal(`/api/v1/orders/${placed.body.id}`);
    expect(placed.body.status).to.equal('PENDING');
    expect((await settled(placed.body.id)).status).to.equal('CONFIRMED');
    expect(await stockOf(id)).to.equal(0);

    const tooMany = await api('POST', '/api/v1/orders?mode=async', {
      token: alice,
      body: { items: [{ productId: id, quantity: 1 }] },
    });
    expect(tooMany.status).to.equal(202);
    const rejected = await settled(tooMany.body.id);
    expect(rejected).to.include({ status: 'REJECTED', rejectionReason: 'INSUFFICIENT_STOCK' });
  });

  it('cancels a confirmed order and gives its stock back, in both modes', async () => {
    const id = await product(4);
    const sync = await api('POST', '/api/v1/orders', {
      token: alice,
      body: { items: [{ productId: id, quantity: 3 }] },
    });
    expect(sync.body.status).to.equal('CONFIRMED');
    expect(await stockOf(id)).to.equal(1);
    const cancelled = await api('POST', `/api/v1/orders/${sync.body.id}/cancel`, { token: alice });
    expect(cancelled.status).to.equal(200);
    expect(cancelled.body.status).to.equal('CANCELLED');
    expect(await stockOf(id)).to.equal(4);

    const async = await api('POST', '/api/v1/orders?mode=async', {
      token: alice,
      body: { items: [{ productId: id, quantity: 2 }] },
    });
    await settled(async.body.id);
    expect(
      (await api('POST', `/api/v1/orders/${async.body.id}/cancel?mode=async`, { token: alice })).body.status,
    ).to.equal('CANCELLED');
    await eventually(async () => ((await stockOf(id)) === 4 ? true : undefined), 30_000, 'stock to come back');
    expect((await api('POST', `/api/v1/orders/${async.body.id}/cancel`, { token: alice })).status).to.equal(409);
    expect((await api('POST', `/api/v1/orders/${sync.body.id}/cancel`, { token: bob })).status).to.equal(404);
  });

  it('answers a retried request with an Idempotency-Key like the first, reserving once', async () => {
    const id = await product(5);
    const body = { items: [{ productId: id, quantity: 2 }] };
    const headers = { 'idempotency-key': `key-${Date.now()}` };
    const first = await api('POST', '/api/v1/orders', { token: alice, body, headers });
    const again = await api('POST', '/api/v1/orders', { token: alice, body, headers });
    expect(first.status).to.equal(201);
    expect(again.status).to.equal(201);
    expect(again.body.id).to.equal(first.body.id);
    expect(await stockOf(id)).to.equal(3);
    const otherBody = await api('POST', '/api/v1/orders', {
      token: alice,
      body: { items: [{ productId: id, quantity: 1 }] },
      headers,
    });
    expect(otherBody.status).to.equal(422);
  });

  for (const mode of ['sync', 'async'] as const) {
    it(`never oversells under concurrent orders through the gateway (${mode})`, async () => {
      const id = await product(6);
      const tokens = ['c1', 'c2', 'c3', 'c4'].map((sub) => split.token({ id: sub, role: 'customer' }));
      const responses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          api('POST', `/api/v1/orders?mode=${mode}`, {
            token: tokens[i % 4],
            body: { items: [{ productId: id, quantity: 1 }] },
          }),
        ),
      );
      expect(responses.map((r) => r.status)).to.satisfy((s: number[]) =>
        s.every((x) => x === (mode === 'sync' ? 201 : 202)),
      );
      const finals = await Promise.all(responses.map((r, i) => settled(r.body.id, tokens[i % 4])));
      const confirmed = finals.filter((o) => o.status === 'CONFIRMED');
      expect(confirmed).to.have.length(6);
      expect(
        finals.filter((o) => o.status === 'REJECTED').every((o) => o.rejectionReason === 'INSUFFICIENT_STOCK'),
      ).to.equal(true);
      expect(await stockOf(id)).to.equal(0);
    });
  }

  for (const mode of ['sync', 'async'] as const) {
    it(`never rejects an order placed right after its product's 201 as UNKNOWN_PRODUCT, 30 times (${mode})`, async () => {
      const placed: { orderId: string; productId: string; priceCents: number }[] = [];
      for (let i = 0; i < 30; i++) {
        const priceCents = 100 + i;
        const productId = await product(1, priceCents);
        const order = await api('POST', `/api/v1/orders?mode=${mode}`, {
          token: alice,
          body: { items: [{ productId, quantity: 1 }] },
        });
        expect(order.status, JSON.stringify(order.body)).to.equal(mode === 'sync' ? 201 : 202);
        if (mode === 'sync') expect(order.body, JSON.stringify(order.body)).to.include({ status: 'CONFIRMED' });
        placed.push({ orderId: order.body.id, productId, priceCents });
      }
      const finals = await Promise.all(placed.map((p) => settled(p.orderId)));
      expect(finals.filter((o) => o.rejectionReason === 'UNKNOWN_PRODUCT')).to.have.length(0);
      finals.forEach((order, i) => {
        const { productId, priceCents } = placed[i]!;
        expect(order, JSON.stringify(order)).to.deep.include({
          status: 'CONFIRMED',
          totalCents: priceCents,
          currency: 'EUR',
        });
        expect(order.items[0]).to.deep.include({ productId, unitPriceCents: priceCents, name: 'E2E thing' });
      });
    });

    it(`rejects an order for a product that does not exist as UNKNOWN_PRODUCT, decided by the product service (${mode})`, async () => {
      const ghost = randomUUID();
      const placed = await api('POST', `/api/v1/orders?mode=${mode}`, {
        token: alice,
        body: { items: [{ productId: ghost, quantity: 1 }] },
      });
      expect(placed.status).to.equal(mode === 'sync' ? 201 : 202);
      const final = await settled(placed.body.id);
      expect(final).to.deep.include({ status: 'REJECTED', rejectionReason: 'UNKNOWN_PRODUCT', totalCents: null });
      const { kafkaBrokers } = await integrationServices();
      const verdict = await eventually(
        async () =>
          (await readTopic(kafkaBrokers, `${split.namespace}product-events`))
            .map((m) => JSON.parse(String(m.value)))
            .find((e) => e.type === 'StockReservationRejected' && e.aggregateId === placed.body.id),
        30_000,
        "the product service's verdict on product-events",
      );
      expect(verdict.payload).to.deep.equal({ orderId: placed.body.id, reason: 'UNKNOWN_PRODUCT' });
    });
  }

  it('absorbs a duplicated OrderPlaced: the second delivery reserves nothing', async () => {
    const id = await product(5);
    const placed = await api('POST', '/api/v1/orders?mode=async', {
      token: alice,
      body: { items: [{ productId: id, quantity: 2 }] },
    });
    await settled(placed.body.id);
    expect(await stockOf(id)).to.equal(3);

    // Find the OrderPlaced on the (namespaced) order-events topic and publish it again, byte for byte.
    const { kafkaBrokers } = await integrationServices();
    const kafka = new Kafka({ clientId: 'e2e-duplicator', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
    const namespace = split.namespace;
    const consumer = kafka.consumer({ groupId: `${namespace}dup-${Date.now()}` });
    const producer = kafka.producer();
    await Promise.all([consumer.connect(), producer.connect()]);
    try {
      let original: { key: Buffer | null; value: Buffer | null; headers: Record<string, unknown> } | undefined;
      await consumer.subscribe({ topic: `${namespace}order-events`, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const event = JSON.parse(String(message.value));
          if (event.type === 'OrderPlaced' && event.aggregateId === placed.body.id) {
            original = { key: message.key, value: message.value, headers: message.headers ?? {} };
          }
        },
      });
      await eventually(async () => original, 30_000, 'the OrderPlaced message');
      await producer.send({
        topic: `${namespace}order-events`,
        messages: [
          { key: original!.key, value: original!.value, headers: original!.headers as Record<string, string> },
        ],
      });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
    // Give the product service time to consume the duplicate, then check nothing moved.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await stockOf(id)).to.equal(3);
    expect((await orderOf(placed.body.id)).status).to.equal('CONFIRMED');
  });

  it('loses no order when the product process dies with async orders pending, and reserves nothing twice', async () => {
    const id = await product(10);
    await split.kill('product');
    // Product reads fail while it is down; orders are still accepted by the order service.
    const down = await api('GET', `/api/v1/products/${id}`);
    expect(down.status).to.equal(503);
    const syncWhileDown = await api('POST', '/api/v1/orders?mode=sync', {
      token: alice,
      body: { items: [{ productId: id, quantity: 1 }] },
    });
    // Recorded, so the answer says so: 202 PENDING with where to follow it, not a 503 that invites a second purchase.
    expect(syncWhileDown.status).to.equal(202);
    expect(syncWhileDown.body.status).to.equal('PENDING');
    expect(syncWhileDown.headers.get('location')).to.equal(`/api/v1/orders/${syncWhileDown.body.id}`);
    const pending = await Promise.all(
      Array.from({ length: 8 }, () =>
        api('POST', '/api/v1/orders?mode=async', { token: alice, body: { items: [{ productId: id, quantity: 2 }] } }),
      ),
    );
    expect(pending.map((r) => r.status)).to.deep.equal(Array(8).fill(202));
    await split.start('product');
    // Ready without its consumer group: the group still waits for the killed member's session (30 s) to end,
    // and the role does not wait with it; what was published meanwhile is handled once it has joined.
    const metrics = (await call<string>(split.urls.product, 'GET', '/metrics')).body;
    expect(metrics).to.match(/^kafka_consumer_group_joined\{group="product-service",role="product"\} 0$/m);
    const finals = await Promise.all([syncWhileDown, ...pending].map((r) => settled(r.body.id)));
    // The sync order settles through the events too, like the others (partitions interleave, so in any order).
    const confirmed = finals.filter((o) => o.status === 'CONFIRMED');
    expect(finals.filter((o) => o.status !== 'CONFIRMED').map((o) => o.rejectionReason)).to.satisfy(
      (reasons: string[]) => reasons.every((r) => r === 'INSUFFICIENT_STOCK'),
    );
    const taken = confirmed.reduce(
      (sum: number, o: { items: { quantity: number }[] }) => sum + o.items[0]!.quantity,
      0,
    );
    // 17 units asked of 10: once every order is final, what is left cannot serve any that was rejected.
    expect(10 - taken).to.be.within(0, 1);
    expect(await stockOf(id)).to.equal(10 - taken);
  });
});
