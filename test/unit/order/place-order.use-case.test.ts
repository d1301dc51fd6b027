import { expect } from 'chai';
import {
  type PlaceOrderCommand,
  placeOrder,
  SYNC_GUARD_MS,
} from '../../../src/modules/order/application/use-cases/place-order.use-case.ts';
import { createProduct } from '../../../src/modules/product/application/use-cases/create-product.use-case.ts';
import { deleteProduct } from '../../../src/modules/product/application/use-cases/delete-product.use-case.ts';
import { updateProduct } from '../../../src/modules/product/application/use-cases/update-product.use-case.ts';
import { unavailable } from '../../../src/shared/domain-error.ts';
import { newId } from '../../../src/shared/id.ts';
import {
  catalogEntryOf,
  events,
  type OrderWorld,
  orderWorld,
  outbox,
  productInput,
  rejection,
  T0,
} from '../fixtures.ts';

const place = (world: OrderWorld, cmd: Partial<PlaceOrderCommand> & Pick<PlaceOrderCommand, 'items'>) =>
  placeOrder(world.deps, {
    customerId: 'alice',
    mode: 'sync',
    correlationId: 'corr-o',
    ...cmd,
  });

const orderTypes = (world: OrderWorld, orderId: string) =>
  events(world.persistence)
    .filter((e) => e.aggregateId === orderId)
    .map((e) => e.type);

const storedOrders = (world: OrderWorld) => [...world.persistence.transactions.state.orders.values()];

describe('placeOrder', () => {
  describe('sync', () => {
    it("confirms the order at the product module's prices and takes the stock", async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({
        name: 'Lamp',
        priceCents: 1250,
        stock: 5,
      });
      const desk = await world.addProduct({
        name: 'Desk',
        priceCents: 9900,
        stock: 2,
      });
      const { order, answer } = await place(world, {
        items: [
          { productId: lamp.id, quantity: 2 },
          { productId: desk.id, quantity: 1 },
        ],
      });
      expect(answer).to.equal('sync');
      expect(order).to.deep.include({
        customerId: 'alice',
        status: 'CONFIRMED',
        rejectionReason: null,
        totalCents: 2 * 1250 + 9900,
        currency: 'EUR',
        version: 2,
      });
      expect(order.items).to.deep.equal([
        {
          productId: lamp.id,
          sku: lamp.sku,
          name: 'Lamp',
          unitPriceCents: 1250,
          quantity: 2,
        },
        {
          productId: desk.id,
          sku: desk.sku,
          name: 'Desk',
          unitPriceCents: 9900,
          quantity: 1,
        },
      ]);
      expect(await world.product.stockOf(lamp.id)).to.equal(3);
      expect(await world.product.stockOf(desk.id)).to.equal(1);
    });

    it('charges the price at reservation, not the stale one in the replica', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ priceCents: 1000 });
      await updateProduct(world.product.deps, lamp.id, { priceCents: 1500 }, undefined, 'c');
      const { order } = await place(world, {
        items: [{ productId: lamp.id, quantity: 2 }],
      });
      expect(order.items[0]!.unitPriceCents).to.equal(1500);
      expect(order.totalCents).to.equal(3000);
      expect((await world.persistence.orders.findById(order.id))?.toProps()).to.deep.equal(order);
    });

    it('confirms a product the replica has not seen yet: the product module knows it and prices it', async () => {
      const world = orderWorld();
      const fresh = await createProduct(world.product.deps, productInput({ priceCents: 777, stock: 4 }), 'c');
      const { order, answer } = await place(world, { items: [{ productId: fresh.id, quantity: 3 }] });
      expect(answer).to.equal('sync');
      expect(order).to.deep.include({ status: 'CONFIRMED', totalCents: 2331, currency: 'EUR' });
      expect(order.items[0]).to.deep.include({ sku: fresh.sku, name: fresh.name, unitPriceCents: 777 });
      expect(await world.product.stockOf(fresh.id)).to.equal(1);
    });

    it('rejects a product nobody knows as UNKNOWN_PRODUCT, decided by the product module', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const ghost = newId();
      const { order } = await place(world, {
        items: [
          { productId: lamp.id, quantity: 1 },
          { productId: ghost, quantity: 1 },
        ],
      });
      expect(order).to.deep.include({ status: 'REJECTED', rejectionReason: 'UNKNOWN_PRODUCT', totalCents: null });
      expect(world.catalog.reserveCalls).to.equal(1);
      expect(events(world.product.persistence, 'StockReservationRejected').map((e) => e.payload)).to.deep.equal([
        { orderId: order.id, reason: 'UNKNOWN_PRODUCT' },
      ]);
      expect(await world.product.stockOf(lamp.id)).to.equal(5);
    });

    it('lets the product module decide about a product the replica says was deleted', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct();
      await deleteProduct(world.product.deps, lamp.id, 'c');
      await world.seedReplica(catalogEntryOf(lamp, { version: 2, deleted: true }));
      const { order } = await place(world, { items: [{ productId: lamp.id, quantity: 1 }] });
      expect(order).to.deep.include({ status: 'REJECTED', rejectionReason: 'UNKNOWN_PRODUCT' });
      expect(world.catalog.reserveCalls).to.equal(1);
    });

    it('rejects products in different currencies with MIXED_CURRENCY, decided by the product module', async () => {
      const world = orderWorld();
      const eur = await world.addProduct({ currency: 'EUR' });
      const usd = await world.addProduct({ currency: 'USD' });
      const { order } = await place(world, {
        items: [
          { productId: eur.id, quantity: 1 },
          { productId: usd.id, quantity: 1 },
        ],
      });
      expect(order).to.deep.include({ status: 'REJECTED', rejectionReason: 'MIXED_CURRENCY', currency: null });
      expect(world.catalog.reserveCalls).to.equal(1);
    });

    it('does the work once: the held-back OrderPlaced is withdrawn, and only the outcome goes out', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct();
      const { order } = await place(world, {
        items: [{ productId: lamp.id, quantity: 1 }],
      });
      expect((await world.persistence.orders.findById(order.id))?.toProps()).to.deep.equal(order);
      expect(orderTypes(world, order.id)).to.deep.equal(['OrderConfirmed']);
      expect(events(world.persistence, 'OrderConfirmed')[0]!.payload).to.deep.equal({
        orderId: order.id,
        totalCents: order.totalCents,
        currency: 'EUR',
      });
      expect(world.catalog.reserveCalls).to.equal(1);
      expect(events(world.product.persistence, 'StockReserved').map((e) => e.aggregateId)).to.deep.equal([order.id]);
    });

    it('holds OrderPlaced back as a crash guard while the product module is being asked', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct();
      let guard: (typeof world.persistence.transactions.state.outbox)[number] | undefined;
      const reserve = world.catalog.reserve.bind(world.catalog);
      world.catalog.reserve = async (orderId, items, correlationId) => {
        guard = outbox(world.persistence).find((r) => r.event.aggregateId === orderId);
        return reserve(orderId, items, correlationId);
      };
      await place(world, { items: [{ productId: lamp.id, quantity: 1 }] });
      expect(guard?.event.type).to.equal('OrderPlaced');
      expect(guard?.availableAt).to.deep.equal(new Date(T0.getTime() + SYNC_GUARD_MS));
    });

    it('rejects with INSUFFICIENT_STOCK and takes nothing when an item is short', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const desk = await world.addProduct({ stock: 1 });
      const { order } = await place(world, {
        items: [
          { productId: lamp.id, quantity: 2 },
          { productId: desk.id, quantity: 2 },
        ],
      });
      expect(order).to.deep.include({
        status: 'REJECTED',
        rejectionReason: 'INSUFFICIENT_STOCK',
      });
      expect(await world.product.stockOf(lamp.id)).to.equal(5);
      expect(await world.product.stockOf(desk.id)).to.equal(1);
      expect(orderTypes(world, order.id)).to.deep.equal(['OrderRejected']);
    });

    it('answers a recorded order PENDING (202) when the product module is unavailable, and lets the events settle it', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      world.catalog.failure = unavailable('PRODUCT_SERVICE_UNAVAILABLE', 'product service down');
      const { order, answer } = await place(world, { items: [{ productId: lamp.id, quantity: 1 }] });
      expect(answer).to.equal('async');
      expect(order).to.deep.include({ status: 'PENDING', version: 1 });
      expect(storedOrders(world).map((o) => o.id)).to.deep.equal([order.id]);
      const [placed, ...others] = outbox(world.persistence).filter((r) => r.event.aggregateId === order.id);
      expect(others).to.have.length(0);
      // Released at once: it waits for the product module in the broker, not for the guard to fall due.
      expect(placed).to.deep.include({ published: false, availableAt: null });
      expect(placed!.event.type).to.equal('OrderPlaced');
      expect(await world.product.stockOf(lamp.id)).to.equal(5);
      expect(world.logger.warnings).to.have.length(1);
    });

    it('answers PENDING when the outcome cannot be stored, and never loses the order', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const update = world.persistence.transaction.bind(world.persistence);
      let calls = 0;
      world.persistence.transaction = (work) => (++calls === 2 ? Promise.reject(new Error('disk full')) : update(work));
      const { order, answer } = await place(world, { items: [{ productId: lamp.id, quantity: 1 }] });
      expect(answer).to.equal('async');
      expect(order.status).to.equal('PENDING');
      expect((await world.persistence.orders.findById(order.id))?.status).to.equal('PENDING');
      // The product module did reserve, and its StockReserved will settle the order.
      expect(events(world.product.persistence, 'StockReserved').map((e) => e.aggregateId)).to.deep.equal([order.id]);
    });
  });

  describe('async', () => {
    it('records the order PENDING with one OrderPlaced due now, without asking the catalog', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ priceCents: 700, stock: 5 });
      const { order, answer } = await place(world, {
        mode: 'async',
        correlationId: 'corr-a',
        items: [{ productId: lamp.id, quantity: 3 }],
      });
      expect(answer).to.equal('async');
      expect(order).to.deep.include({
        status: 'PENDING',
        totalCents: 2100,
        version: 1,
      });
      expect(order.createdAt).to.deep.equal(T0);
      expect(world.catalog.reserveCalls).to.equal(0);
      expect(await world.product.stockOf(lamp.id)).to.equal(5);
      const [record, ...rest] = world.persistence.transactions.state.outbox;
      expect(rest).to.have.length(0);
      expect(record).to.deep.include({
        topic: 'order-events',
        published: false,
        availableAt: null,
      });
      expect(record!.event).to.deep.include({
        type: 'OrderPlaced',
        aggregateId: order.id,
        correlationId: 'corr-a',
        source: 'order-service',
      });
      expect(record!.event.payload).to.deep.equal({
        orderId: order.id,
        customerId: 'alice',
        items: [{ productId: lamp.id, quantity: 3 }],
        totalCents: 2100,
        currency: 'EUR',
      });
    });

    it('leaves lines the replica does not know unpriced, for the product module to price', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ priceCents: 700 });
      const unseen = newId();
      const { order } = await place(world, {
        mode: 'async',
        items: [
          { productId: lamp.id, quantity: 1 },
          { productId: unseen, quantity: 2 },
        ],
      });
      expect(order).to.deep.include({ status: 'PENDING', totalCents: null, currency: 'EUR' });
      expect(order.items[1]).to.deep.equal({
        productId: unseen,
        sku: null,
        name: null,
        unitPriceCents: null,
        quantity: 2,
      });
    });

    it('refuses an order naming a product twice with INVALID_ORDER and stores nothing', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct();
      const error = await rejection(
        place(world, {
          mode: 'async',
          items: [
            { productId: lamp.id, quantity: 1 },
            { productId: lamp.id, quantity: 2 },
          ],
        }),
      );
      expect(error.code).to.equal('INVALID_ORDER');
      expect(storedOrders(world)).to.have.length(0);
      expect(world.persistence.transactions.state.outbox).to.have.length(0);
    });
  });

  describe('Idempotency-Key', () => {
    const key = (requestHash = 'hash-1') => ({ key: 'key-1', requestHash });

    it('answers a retry with the same key and body with the first order, reserving nothing again', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const items = [{ productId: lamp.id, quantity: 2 }];
      const first = await place(world, { items, idempotency: key() });
      const outboxSize = world.persistence.transactions.state.outbox.length;
      const retry = await place(world, {
        items,
        idempotency: key(),
        correlationId: 'corr-retry',
      });
      expect(retry).to.deep.equal(first);
      expect(storedOrders(world)).to.have.length(1);
      expect(await world.product.stockOf(lamp.id)).to.equal(3);
      expect(world.catalog.reserveCalls).to.equal(1);
      expect(world.persistence.transactions.state.outbox).to.have.length(outboxSize);
    });

    it('answers two concurrent first requests with one key with one order, reserved once', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const items = [{ productId: lamp.id, quantity: 2 }];
      const [a, b] = await Promise.all([
        place(world, { items, idempotency: key() }),
        place(world, { items, idempotency: key() }),
      ]);
      expect(b.order.id).to.equal(a.order.id);
      expect([a.order.status, b.order.status]).to.deep.equal(['CONFIRMED', 'CONFIRMED']);
      expect(storedOrders(world)).to.have.length(1);
      expect(await world.product.stockOf(lamp.id)).to.equal(3);
      expect(orderTypes(world, a.order.id)).to.deep.equal(['OrderConfirmed']);
    });

    it('refuses the same key with another body as IDEMPOTENCY_KEY_REUSED (unprocessable)', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      await place(world, {
        items: [{ productId: lamp.id, quantity: 2 }],
        idempotency: key('hash-1'),
      });
      const error = await rejection(
        place(world, {
          items: [{ productId: lamp.id, quantity: 1 }],
          idempotency: key('hash-2'),
        }),
      );
      expect(error.code).to.equal('IDEMPOTENCY_KEY_REUSED');
      expect(error.category).to.equal('unprocessable');
      expect(storedOrders(world)).to.have.length(1);
      expect(await world.product.stockOf(lamp.id)).to.equal(3);
    });

    it('keeps keys apart per customer', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const items = [{ productId: lamp.id, quantity: 1 }];
      const alice = await place(world, { items, idempotency: key() });
      const bob = await place(world, {
        customerId: 'bob',
        items,
        idempotency: key(),
      });
      expect(bob.order.id).to.not.equal(alice.order.id);
      expect(bob.order.customerId).to.equal('bob');
      expect(await world.product.stockOf(lamp.id)).to.equal(3);
    });

    it('answers a retry in the mode of the first request', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const items = [{ productId: lamp.id, quantity: 1 }];
      const first = await place(world, {
        mode: 'async',
        items,
        idempotency: key(),
      });
      const retry = await place(world, {
        mode: 'sync',
        items,
        idempotency: key(),
      });
      expect(retry).to.deep.equal(first);
      expect(retry.order.status).to.equal('PENDING');
      expect(world.catalog.reserveCalls).to.equal(0);
    });

    it('finishes, on retry, a sync order the unavailable catalog left PENDING', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      const items = [{ productId: lamp.id, quantity: 2 }];
      world.catalog.failure = unavailable('PRODUCT_SERVICE_UNAVAILABLE', 'down');
      const first = await place(world, { items, idempotency: key() });
      expect(first).to.deep.include({ answer: 'async' });
      world.catalog.failure = undefined;
      const retry = await place(world, { items, idempotency: key() });
      expect(retry.order.status).to.equal('CONFIRMED');
      expect(storedOrders(world).map((o) => o.id)).to.deep.equal([retry.order.id]);
      expect(await world.product.stockOf(lamp.id)).to.equal(3);
      expect(orderTypes(world, retry.order.id)).to.deep.equal(['OrderPlaced', 'OrderConfirmed']);
    });
  });
});
