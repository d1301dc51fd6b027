import { expect } from 'chai';
import { createProduct } from '../../../src/modules/product/application/use-cases/create-product.use-case.ts';
import {
  type ReserveStockCommand,
  reserveStock,
} from '../../../src/modules/product/application/use-cases/reserve-stock.use-case.ts';
import type { NewProduct, ProductProps } from '../../../src/modules/product/domain/product.ts';
import { newId } from '../../../src/shared/id.ts';
import { events, inboxEntry, type ProductWorld, productInput, productWorld } from '../fixtures.ts';

async function product(world: ProductWorld, overrides: Partial<NewProduct> = {}): Promise<ProductProps> {
  return createProduct(world.deps, productInput(overrides), 'corr-seed');
}

const reserve = (world: ProductWorld, items: ReserveStockCommand['items'], extra: Partial<ReserveStockCommand> = {}) =>
  reserveStock(world.deps, {
    orderId: newId(),
    items,
    correlationId: 'corr-r',
    ...extra,
  });

/** Reservation events (StockReserved and StockReservationRejected) in the outbox for one order. */
const outcomesFor = (world: ProductWorld, orderId: string) =>
  events(world.persistence).filter(
    (e) => ['StockReserved', 'StockReservationRejected'].includes(e.type) && e.aggregateId === orderId,
  );

const lineOf = (p: ProductProps, quantity: number) => ({
  productId: p.id,
  sku: p.sku,
  name: p.name,
  unitPriceCents: p.priceCents,
  currency: p.currency,
  quantity,
});

describe('reserveStock', () => {
  it('reserves every item, takes the stock and answers with priced lines', async () => {
    const world = productWorld();
    const a = await product(world, { stock: 5, priceCents: 300 });
    const b = await product(world, { stock: 8, priceCents: 1200 });
    const outcome = await reserve(world, [
      { productId: a.id, quantity: 2 },
      { productId: b.id, quantity: 8 },
    ]);
    expect(outcome).to.deep.equal({
      status: 'RESERVED',
      lines: [lineOf(a, 2), lineOf(b, 8)],
    });
    expect(await world.stockOf(a.id)).to.equal(3);
    expect(await world.stockOf(b.id)).to.equal(0);
    expect(await world.stored(a.id)).to.deep.include({ version: 2 });
  });

  it('records the reservation and writes one StockReserved for the order', async () => {
    const world = productWorld();
    const a = await product(world, { stock: 5 });
    const orderId = newId();
    await reserve(world, [{ productId: a.id, quantity: 1 }], {
      orderId,
      correlationId: 'corr-42',
    });
    expect(world.persistence.transactions.state.reservations.get(orderId)).to.deep.include({
      status: 'RESERVED',
      reason: null,
    });
    const [event, ...rest] = outcomesFor(world, orderId);
    expect(rest).to.have.length(0);
    expect(event).to.deep.include({
      type: 'StockReserved',
      aggregateId: orderId,
      correlationId: 'corr-42',
    });
    expect(event!.payload).to.deep.equal({ orderId, lines: [lineOf(a, 1)] });
  });

  it('takes nothing at all when one item is short: REJECTED INSUFFICIENT_STOCK', async () => {
    const world = productWorld();
    // ids grow with time, so `plenty` is taken first in the lock order and must be given back
    const plenty = await product(world, { stock: 10 });
    const scarce = await product(world, { stock: 1 });
    const orderId = newId();
    const outcome = await reserve(
      world,
      [
        { productId: scarce.id, quantity: 2 },
        { productId: plenty.id, quantity: 3 },
      ],
      { orderId },
    );
    expect(outcome).to.deep.equal({
      status: 'REJECTED',
      reason: 'INSUFFICIENT_STOCK',
    });
    expect(await world.stored(plenty.id)).to.deep.include({
      stock: 10,
      version: 1,
    });
    expect(await world.stored(scarce.id)).to.deep.include({
      stock: 1,
      version: 1,
    });
    expect(outcomesFor(world, orderId).map((e) => e.type)).to.deep.equal(['StockReservationRejected']);
    expect(outcomesFor(world, orderId)[0]!.payload).to.deep.equal({
      orderId,
      reason: 'INSUFFICIENT_STOCK',
    });
  });

  it('reserves the exact remaining stock', async () => {
    const world = productWorld();
    const a = await product(world, { stock: 4 });
    expect((await reserve(world, [{ productId: a.id, quantity: 4 }])).status).to.equal('RESERVED');
    expect(await world.stockOf(a.id)).to.equal(0);
  });

  it('rejects an unknown product with UNKNOWN_PRODUCT and takes nothing from the known ones', async () => {
    const world = productWorld();
    const a = await product(world, { stock: 5 });
    const orderId = newId();
    const outcome = await reserve(
      world,
      [
        { productId: a.id, quantity: 1 },
        { productId: newId(), quantity: 1 },
      ],
      { orderId },
    );
    expect(outcome).to.deep.equal({
      status: 'REJECTED',
      reason: 'UNKNOWN_PRODUCT',
    });
    expect(await world.stockOf(a.id)).to.equal(5);
    expect(outcomesFor(world, orderId).map((e) => e.type)).to.deep.equal(['StockReservationRejected']);
  });

  it('rejects products priced in different currencies with MIXED_CURRENCY and takes nothing', async () => {
    const world = productWorld();
    const eur = await product(world, { currency: 'EUR', stock: 5 });
    const usd = await product(world, { currency: 'USD', stock: 5 });
    const outcome = await reserve(world, [
      { productId: eur.id, quantity: 1 },
      { productId: usd.id, quantity: 1 },
    ]);
    expect(outcome).to.deep.equal({
      status: 'REJECTED',
      reason: 'MIXED_CURRENCY',
    });
    expect(await world.stockOf(eur.id)).to.equal(5);
    expect(await world.stockOf(usd.id)).to.equal(5);
  });

  describe('idempotency by order id', () => {
    it('answers a repeated request with the first outcome and takes nothing again', async () => {
      const world = productWorld();
      const a = await product(world, { stock: 5 });
      const orderId = newId();
      const first = await reserve(world, [{ productId: a.id, quantity: 2 }], {
        orderId,
      });
      const second = await reserve(world, [{ productId: a.id, quantity: 2 }], {
        orderId,
      });
      expect(second).to.deep.equal(first);
      expect(await world.stockOf(a.id)).to.equal(3);
      expect(outcomesFor(world, orderId)).to.have.length(1);
    });

    it('keeps the first outcome even when the repeat asks for other items', async () => {
      const world = productWorld();
      const a = await product(world, { stock: 5 });
      const orderId = newId();
      const first = await reserve(world, [{ productId: a.id, quantity: 1 }], {
        orderId,
      });
      const second = await reserve(world, [{ productId: a.id, quantity: 4 }], {
        orderId,
      });
      expect(second).to.deep.equal(first);
      expect(await world.stockOf(a.id)).to.equal(4);
    });

    it('keeps a rejection even after stock is replenished', async () => {
      const world = productWorld();
      const a = await product(world, { stock: 1 });
      const orderId = newId();
      await reserve(world, [{ productId: a.id, quantity: 3 }], { orderId });
      await world.persistence.transaction((tx) => tx.products.adjustStock(a.id, 10, world.clock.now()));
      const again = await reserve(world, [{ productId: a.id, quantity: 3 }], {
        orderId,
      });
      expect(again).to.deep.equal({
        status: 'REJECTED',
        reason: 'INSUFFICIENT_STOCK',
      });
      expect(await world.stockOf(a.id)).to.equal(11);
      expect(outcomesFor(world, orderId)).to.have.length(1);
    });

    it('writes exactly one outcome event when the direct call and the OrderPlaced event both ask', async () => {
      const world = productWorld();
      const a = await product(world, { stock: 5 });
      const orderId = newId();
      const items = [{ productId: a.id, quantity: 2 }];
      await Promise.all([
        reserve(world, items, { orderId }),
        reserve(world, items, {
          orderId,
          inbox: inboxEntry('product-service'),
        }),
      ]);
      expect(outcomesFor(world, orderId)).to.have.length(1);
      expect(await world.stockOf(a.id)).to.equal(3);
    });
  });

  describe('inbox', () => {
    it('records the event as processed in the same transaction as the reservation', async () => {
      const world = productWorld();
      const a = await product(world, { stock: 5 });
      const inbox = inboxEntry('product-service');
      await reserve(world, [{ productId: a.id, quantity: 1 }], { inbox });
      expect(world.persistence.transactions.state.processed.has(`product-service/${inbox.eventId}`)).to.equal(true);
    });

    it('records a rejected event as processed too', async () => {
      const world = productWorld();
      const a = await product(world, { stock: 0 });
      const inbox = inboxEntry('product-service');
      await reserve(world, [{ productId: a.id, quantity: 1 }], { inbox });
      expect(world.persistence.transactions.state.processed.has(`product-service/${inbox.eventId}`)).to.equal(true);
    });

    it('takes nothing and writes nothing for a redelivered event', async () => {
      const world = productWorld();
      const a = await product(world, { stock: 5 });
      const orderId = newId();
      const inbox = inboxEntry('product-service');
      const first = await reserve(world, [{ productId: a.id, quantity: 2 }], {
        orderId,
        inbox,
      });
      const outboxSize = events(world.persistence).length;
      const again = await reserve(world, [{ productId: a.id, quantity: 2 }], {
        orderId,
        inbox,
      });
      expect(again).to.deep.equal(first);
      expect(await world.stockOf(a.id)).to.equal(3);
      expect(events(world.persistence)).to.have.length(outboxSize);
    });
  });

  it('never oversells: 50 concurrent one-unit reservations against stock 10 give exactly 10 RESERVED', async () => {
    const world = productWorld();
    const a = await product(world, { stock: 10 });
    const orderIds = Array.from({ length: 50 }, () => newId());
    const outcomes = await Promise.all(
      orderIds.map((orderId) => reserve(world, [{ productId: a.id, quantity: 1 }], { orderId })),
    );
    expect(outcomes.filter((o) => o.status === 'RESERVED')).to.have.length(10);
    expect(outcomes.filter((o) => o.status === 'REJECTED' && o.reason === 'INSUFFICIENT_STOCK')).to.have.length(40);
    expect(await world.stockOf(a.id)).to.equal(0);
    for (const orderId of orderIds) expect(outcomesFor(world, orderId), orderId).to.have.length(1);
    expect(events(world.persistence, 'StockReserved')).to.have.length(10);
    expect(events(world.persistence, 'StockReservationRejected')).to.have.length(40);
  });

  it('invalidates the cached copies of the products it took stock from', async () => {
    const world = productWorld();
    const a = await product(world, { stock: 5 });
    await world.cache.set(`product:${a.id}`, { stale: true }, 60);
    await reserve(world, [{ productId: a.id, quantity: 1 }]);
    expect(await world.cache.get(`product:${a.id}`)).to.equal(undefined);
  });
});
