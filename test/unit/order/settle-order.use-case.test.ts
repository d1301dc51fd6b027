import { expect } from 'chai';
import type { ReservationResult } from '../../../src/modules/order/application/ports/product-catalog.port.ts';
import { placeOrder } from '../../../src/modules/order/application/use-cases/place-order.use-case.ts';
import { settleOrder } from '../../../src/modules/order/application/use-cases/settle-order.use-case.ts';
import type { OrderPlacedPayload } from '../../../src/modules/order/domain/order.events.ts';
import type { OrderProps } from '../../../src/modules/order/domain/order.ts';
import { reserveStock } from '../../../src/modules/product/application/use-cases/reserve-stock.use-case.ts';
import type { StockReservedPayload } from '../../../src/modules/product/contract.ts';
import { newId } from '../../../src/shared/id.ts';
import type { EventEnvelope } from '../../../src/shared/messaging/event-envelope.ts';
import { events, inboxEntry, type OrderWorld, orderWorld, T0 } from '../fixtures.ts';

/** The product module's RESERVED answer for every line of `order`, at 1111 a unit. */
const reservedFor = (order: OrderProps): ReservationResult => ({
  status: 'RESERVED',
  lines: order.items.map((i) => ({
    productId: i.productId,
    sku: 'SKU-R',
    name: 'Reserved lamp',
    unitPriceCents: 1111,
    currency: 'EUR',
    quantity: i.quantity,
  })),
});
const SHORT: ReservationResult = {
  status: 'REJECTED',
  reason: 'INSUFFICIENT_STOCK',
};

/** A product with stock 5 and an async order for 2 of it, still PENDING. */
async function pendingOrder() {
  const world = orderWorld();
  const lamp = await world.addProduct({ stock: 5 });
  const { order } = await placeOrder(world.deps, {
    customerId: 'alice',
    items: [{ productId: lamp.id, quantity: 2 }],
    mode: 'async',
    correlationId: 'corr-p',
  });
  world.product.clock.advance(1000);
  return { world, lamp, order };
}

const settle = (
  world: OrderWorld,
  orderId: string,
  result: ReservationResult,
  inbox?: { consumer: string; eventId: string },
) =>
  settleOrder(world.deps, {
    orderId,
    result,
    correlationId: 'corr-s',
    ...(inbox ? { inbox } : {}),
  });

const inboxOf = (event: EventEnvelope) => ({
  consumer: 'order-service',
  eventId: event.id,
});

const guardOf = (orderId: string): EventEnvelope => ({
  id: newId(),
  type: 'OrderPlaced',
  version: 1,
  occurredAt: T0.toISOString(),
  source: 'order-service',
  aggregateId: orderId,
  correlationId: 'corr-g',
  payload: { orderId },
});

const stored = async (world: OrderWorld, id: string) => (await world.persistence.orders.findById(id))?.toProps();
const typesOf = (world: OrderWorld, id: string) =>
  events(world.persistence)
    .filter((e) => e.aggregateId === id)
    .map((e) => e.type);

describe('settleOrder', () => {
  it('confirms a PENDING order on RESERVED and writes OrderConfirmed', async () => {
    const { world, order } = await pendingOrder();
    const settled = await settle(world, order.id, reservedFor(order));
    expect(settled).to.deep.include({ status: 'CONFIRMED', version: 2 });
    expect(settled!.updatedAt).to.deep.equal(new Date(T0.getTime() + 1000));
    expect(await stored(world, order.id)).to.deep.equal(settled);
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced', 'OrderConfirmed']);
    expect(settled).to.deep.include({ totalCents: 2222, currency: 'EUR' });
    expect(events(world.persistence, 'OrderConfirmed')[0]!.payload).to.deep.equal({
      orderId: order.id,
      totalCents: 2222,
      currency: 'EUR',
    });
  });

  it('rejects a PENDING order on REJECTED with the reason and writes OrderRejected', async () => {
    const { world, order } = await pendingOrder();
    const settled = await settle(world, order.id, SHORT);
    expect(settled).to.deep.include({
      status: 'REJECTED',
      rejectionReason: 'INSUFFICIENT_STOCK',
      version: 2,
    });
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced', 'OrderRejected']);
    expect(events(world.persistence, 'OrderRejected')[0]!.payload).to.deep.equal({
      orderId: order.id,
      reason: 'INSUFFICIENT_STOCK',
    });
  });

  it('changes nothing when settled a second time, whatever the second answer', async () => {
    const { world, order } = await pendingOrder();
    const first = await settle(world, order.id, reservedFor(order));
    expect(await settle(world, order.id, reservedFor(order))).to.deep.equal(first);
    expect(await settle(world, order.id, SHORT)).to.deep.equal(first);
    expect(await stored(world, order.id)).to.deep.equal(first);
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced', 'OrderConfirmed']);
  });

  it('changes nothing on an order that is already final', async () => {
    const { world, order } = await pendingOrder();
    const rejected = await settle(world, order.id, SHORT);
    expect(await settle(world, order.id, reservedFor(order), inboxEntry())).to.deep.equal(rejected);
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced', 'OrderRejected']);
  });

  it('changes nothing for an event the inbox has seen, even on a PENDING order', async () => {
    const { world, order } = await pendingOrder();
    const inbox = inboxEntry('order-service');
    await world.persistence.transaction((tx) => tx.inbox.markProcessed(inbox.consumer, inbox.eventId));
    const result = await settle(world, order.id, reservedFor(order), inbox);
    expect(result).to.deep.include({ status: 'PENDING', version: 1 });
    expect(await stored(world, order.id)).to.deep.include({
      status: 'PENDING',
      version: 1,
    });
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced']);
  });

  it('reads a final order once and writes nothing, not even an inbox record, for the event that follows', async () => {
    const { world, order } = await pendingOrder();
    const first = await settle(world, order.id, reservedFor(order));
    const inbox = inboxEntry('order-service');
    const before = structuredClone(world.persistence.transactions.state);
    expect(await settle(world, order.id, reservedFor(order), inbox)).to.deep.equal(first);
    expect(world.persistence.transactions.state).to.deep.equal(before);
  });

  it("withdraws the order's held-back OrderPlaced in the transaction that settles it", async () => {
    const { world, order } = await pendingOrder();
    const other = newId();
    await world.persistence.transaction(async (tx) => {
      await tx.outbox.withdrawScheduled(order.id); // leaves the async OrderPlaced alone: it is due, not held back
      await tx.outbox.append('order-events', [guardOf(order.id)], { notBefore: new Date(T0.getTime() + 30_000) });
      await tx.outbox.append('order-events', [guardOf(other)], { notBefore: new Date(T0.getTime() + 30_000) });
    });
    await settle(world, order.id, SHORT);
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced', 'OrderRejected']);
    expect(typesOf(world, other)).to.deep.equal(['OrderPlaced']);
  });

  it('records the event it settled from in the inbox', async () => {
    const { world, order } = await pendingOrder();
    const inbox = inboxEntry('order-service');
    await settle(world, order.id, reservedFor(order), inbox);
    expect(world.persistence.transactions.state.processed.has(`order-service/${inbox.eventId}`)).to.equal(true);
  });

  it('leaves the order alone on a RELEASED answer', async () => {
    const { world, order } = await pendingOrder();
    expect(await settle(world, order.id, { status: 'RELEASED', lines: [] })).to.deep.include({ status: 'PENDING' });
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced']);
  });

  it('ignores an answer for an unknown order, with a warning', async () => {
    const { world } = await pendingOrder();
    const before = events(world.persistence).length;
    expect(await settle(world, newId(), { status: 'RESERVED', lines: [] })).to.equal(null);
    expect(events(world.persistence)).to.have.length(before);
    expect(world.logger.warnings).to.have.length(1);
  });

  it('settles an async order end to end from the events, as the sync path would', async () => {
    const { world, lamp, order } = await pendingOrder();
    // product module consumes OrderPlaced
    const placed = events(world.persistence, 'OrderPlaced')[0]!;
    const { orderId, items } = placed.payload as OrderPlacedPayload;
    await reserveStock(world.product.deps, {
      orderId,
      items,
      correlationId: placed.correlationId,
      inbox: { consumer: 'product-service', eventId: placed.id },
    });
    // order module consumes StockReserved
    const reserved = events(world.product.persistence, 'StockReserved')[0]!;
    const { lines } = reserved.payload as StockReservedPayload;
    const settled = await settle(world, order.id, { status: 'RESERVED', lines }, inboxOf(reserved));
    expect(settled).to.deep.include({ status: 'CONFIRMED' });
    expect(await world.product.stockOf(lamp.id)).to.equal(3);
  });
});
