import { expect } from 'chai';
import {
  type PlaceOrderCommand,
  placeOrder,
} from '../../../src/modules/order/application/use-cases/place-order.use-case.ts';
import { updateProduct } from '../../../src/modules/product/application/use-cases/update-product.use-case.ts';
import { unavailable } from '../../../src/shared/domain-error.ts';
import { newId } from '../../../src/shared/id.ts';
import { catalogEntryOf, events, type OrderWorld, orderWorld, rejection, T0 } from '../fixtures.ts';

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
    it('confirms the order, priced from the catalog replica, and takes the stock', async () => {
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
      const { order, mode } = await place(world, {
        items: [
          { productId: lamp.id, quantity: 2 },
          { productId: desk.id, quantity: 1 },
        ],
      });
      expect(mode).to.equal('sync');
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

    it('prices from the replica even when the product module has moved on', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ priceCents: 1000 });
      await updateProduct(world.product.deps, lamp.id, { priceCents: 1500 }, undefined, 'c');
      const { order } = await place(world, {
        items: [{ productId: lamp.id, quantity: 1 }],
      });
      expect(order.items[0]!.unitPriceCents).to.equal(1000);
      expect(order.totalCents).to.equal(1000);
    });

    it('stores the final state and writes OrderPlaced then OrderConfirmed', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct();
      const { order } = await place(world, {
        items: [{ productId: lamp.id, quantity: 1 }],
      });
      expect((await world.persistence.orders.findById(order.id))?.toProps()).to.deep.equal(order);
      expect(orderTypes(world, order.id)).to.deep.equal(['OrderPlaced', 'OrderConfirmed']);
      expect(events(world.product.persistence, 'StockReserved').map((e) => e.aggregateId)).to.deep.equal([order.id]);
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
      expect(orderTypes(world, order.id)).to.deep.equal(['OrderPlaced', 'OrderRejected']);
    });

    it('leaves the order PENDING with OrderPlaced in the outbox when the catalog is unavailable, and says so', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ stock: 5 });
      world.catalog.failure = unavailable('PRODUCT_SERVICE_UNAVAILABLE', 'product service down');
      const error = await rejection(place(world, { items: [{ productId: lamp.id, quantity: 1 }] }));
      expect(error.category).to.equal('unavailable');
      expect(error.code).to.equal('PRODUCT_SERVICE_UNAVAILABLE');
      const [order, ...others] = storedOrders(world);
      expect(others).to.have.length(0);
      expect(order).to.deep.include({ status: 'PENDING', version: 1 });
      expect(orderTypes(world, order!.id)).to.deep.equal(['OrderPlaced']);
      expect(await world.product.stockOf(lamp.id)).to.equal(5);
    });
  });

  describe('async', () => {
    it('records the order PENDING with one OrderPlaced, without asking the catalog', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct({ priceCents: 700, stock: 5 });
      const { order, mode } = await place(world, {
        mode: 'async',
        correlationId: 'corr-a',
        items: [{ productId: lamp.id, quantity: 3 }],
      });
      expect(mode).to.equal('async');
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
  });

  describe('refused up front', () => {
    for (const mode of ['sync', 'async'] as const) {
      it(`rejects an unknown product with UNKNOWN_PRODUCT and no OrderPlaced (${mode})`, async () => {
        const world = orderWorld();
        const lamp = await world.addProduct({ stock: 5 });
        const { order } = await place(world, {
          mode,
          items: [
            { productId: lamp.id, quantity: 1 },
            { productId: newId(), quantity: 1 },
          ],
        });
        expect(order).to.deep.include({
          status: 'REJECTED',
          rejectionReason: 'UNKNOWN_PRODUCT',
        });
        expect(orderTypes(world, order.id)).to.deep.equal(['OrderRejected']);
        expect(world.catalog.reserveCalls).to.equal(0);
        expect(await world.product.stockOf(lamp.id)).to.equal(5);
      });
    }

    it('treats a product deleted from the replica as unknown', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct();
      await world.seedReplica(catalogEntryOf(lamp, { version: 2, deleted: true }));
      const { order } = await place(world, {
        items: [{ productId: lamp.id, quantity: 1 }],
      });
      expect(order).to.deep.include({
        status: 'REJECTED',
        rejectionReason: 'UNKNOWN_PRODUCT',
      });
    });

    it('rejects products in different currencies with MIXED_CURRENCY and no OrderPlaced', async () => {
      const world = orderWorld();
      const eur = await world.addProduct({ currency: 'EUR' });
      const usd = await world.addProduct({ currency: 'USD' });
      const { order } = await place(world, {
        items: [
          { productId: eur.id, quantity: 1 },
          { productId: usd.id, quantity: 1 },
        ],
      });
      expect(order).to.deep.include({
        status: 'REJECTED',
        rejectionReason: 'MIXED_CURRENCY',
      });
      expect(orderTypes(world, order.id)).to.deep.equal(['OrderRejected']);
      expect(world.catalog.reserveCalls).to.equal(0);
    });

    it('refuses an order naming a product twice with INVALID_ORDER and stores nothing', async () => {
      const world = orderWorld();
      const lamp = await world.addProduct();
      const error = await rejection(
        place(world, {
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
      expect(orderTypes(world, a.order.id)).to.deep.equal(['OrderPlaced', 'OrderConfirmed']);
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
      await rejection(place(world, { items, idempotency: key() }));
      world.catalog.failure = undefined;
      const retry = await place(world, { items, idempotency: key() });
      expect(retry.order.status).to.equal('CONFIRMED');
      expect(storedOrders(world).map((o) => o.id)).to.deep.equal([retry.order.id]);
      expect(await world.product.stockOf(lamp.id)).to.equal(3);
      expect(orderTypes(world, retry.order.id)).to.deep.equal(['OrderPlaced', 'OrderConfirmed']);
    });
  });
});
