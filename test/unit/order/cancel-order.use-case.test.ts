import { expect } from 'chai';
import type { PlacementMode } from '../../../src/modules/order/application/ports/order-persistence.port.ts';
import { cancelOrder } from '../../../src/modules/order/application/use-cases/cancel-order.use-case.ts';
import type { Actor } from '../../../src/modules/order/application/actor.ts';
import { placeOrder } from '../../../src/modules/order/application/use-cases/place-order.use-case.ts';
import { releaseStock } from '../../../src/modules/product/application/use-cases/release-stock.use-case.ts';
import { unavailable } from '../../../src/shared/domain-error.ts';
import { newId } from '../../../src/shared/id.ts';
import { events, type OrderWorld, orderWorld, rejection } from '../fixtures.ts';

const alice: Actor = { id: 'alice', role: 'customer' };
const bob: Actor = { id: 'bob', role: 'customer' };
const admin: Actor = { id: 'root', role: 'admin' };

/** Alice's order for 2 of a product with stock 5, placed in `mode` with `stock` available. */
async function aliceOrder(mode: PlacementMode = 'sync', stock = 5) {
  const world = orderWorld();
  const lamp = await world.addProduct({ stock });
  const { order } = await placeOrder(world.deps, {
    customerId: 'alice',
    items: [{ productId: lamp.id, quantity: 2 }],
    mode,
    correlationId: 'corr-p',
  });
  return { world, lamp, order };
}

const cancel = (world: OrderWorld, orderId: string, actor: Actor = alice, mode: PlacementMode = 'sync') =>
  cancelOrder(world.deps, { orderId, actor, mode, correlationId: 'corr-c' });

const stored = async (world: OrderWorld, id: string) => (await world.persistence.orders.findById(id))?.toProps();
const typesOf = (world: OrderWorld, id: string) =>
  events(world.persistence)
    .filter((e) => e.aggregateId === id)
    .map((e) => e.type);

describe('cancelOrder', () => {
  it('cancels a CONFIRMED order and writes OrderCancelled with the items', async () => {
    const { world, lamp, order } = await aliceOrder();
    const cancelled = await cancel(world, order.id);
    expect(cancelled).to.deep.include({ status: 'CANCELLED', version: 3 });
    expect(await stored(world, order.id)).to.deep.equal(cancelled);
    expect(typesOf(world, order.id)).to.deep.equal(['OrderConfirmed', 'OrderCancelled']);
    expect(events(world.persistence, 'OrderCancelled')[0]!.payload).to.deep.equal({
      orderId: order.id,
      items: [{ productId: lamp.id, quantity: 2 }],
    });
  });

  it('in sync mode releases the stock through the catalog before answering', async () => {
    const { world, lamp, order } = await aliceOrder();
    expect(await world.product.stockOf(lamp.id)).to.equal(3);
    await cancel(world, order.id);
    expect(world.catalog.releaseCalls).to.equal(1);
    expect(await world.product.stockOf(lamp.id)).to.equal(5);
    expect(events(world.product.persistence, 'StockReleased').map((e) => e.aggregateId)).to.deep.equal([order.id]);
  });

  it('in async mode leaves the release to the OrderCancelled event, which releases once', async () => {
    const { world, lamp, order } = await aliceOrder();
    await cancel(world, order.id, alice, 'async');
    expect(world.catalog.releaseCalls).to.equal(0);
    expect(await world.product.stockOf(lamp.id)).to.equal(3);
    const event = events(world.persistence, 'OrderCancelled')[0]!;
    const inbox = { consumer: 'product-service', eventId: event.id };
    await releaseStock(world.product.deps, {
      orderId: order.id,
      correlationId: event.correlationId,
      inbox,
    });
    await releaseStock(world.product.deps, {
      orderId: order.id,
      correlationId: event.correlationId,
      inbox,
    });
    expect(await world.product.stockOf(lamp.id)).to.equal(5);
  });

  it('still answers CANCELLED when the direct release fails, leaving it to the event', async () => {
    const { world, lamp, order } = await aliceOrder();
    world.catalog.failure = unavailable('PRODUCT_SERVICE_UNAVAILABLE', 'down');
    const cancelled = await cancel(world, order.id);
    expect(cancelled.status).to.equal('CANCELLED');
    expect(await world.product.stockOf(lamp.id)).to.equal(3);
    expect(typesOf(world, order.id)).to.include('OrderCancelled');
    expect(world.logger.warnings).to.have.length(1);
  });

  it('refuses a PENDING order as ILLEGAL_TRANSITION and changes nothing', async () => {
    const { world, order } = await aliceOrder('async');
    const error = await rejection(cancel(world, order.id));
    expect(error.code).to.equal('ILLEGAL_TRANSITION');
    expect(error.category).to.equal('conflict');
    expect(await stored(world, order.id)).to.deep.include({
      status: 'PENDING',
      version: 1,
    });
    expect(typesOf(world, order.id)).to.deep.equal(['OrderPlaced']);
    expect(world.catalog.releaseCalls).to.equal(0);
  });

  it('refuses a REJECTED order as ILLEGAL_TRANSITION', async () => {
    const { world, order } = await aliceOrder('sync', 1);
    expect(order.status).to.equal('REJECTED');
    expect((await rejection(cancel(world, order.id))).code).to.equal('ILLEGAL_TRANSITION');
    expect(await stored(world, order.id)).to.deep.include({
      status: 'REJECTED',
    });
  });

  it('refuses to cancel twice, and releases the stock only once', async () => {
    const { world, lamp, order } = await aliceOrder();
    await cancel(world, order.id);
    expect((await rejection(cancel(world, order.id))).code).to.equal('ILLEGAL_TRANSITION');
    expect(await world.product.stockOf(lamp.id)).to.equal(5);
    expect(events(world.persistence, 'OrderCancelled')).to.have.length(1);
  });

  it("hides another customer's order: ORDER_NOT_FOUND, and the order stays CONFIRMED", async () => {
    const { world, lamp, order } = await aliceOrder();
    const error = await rejection(cancel(world, order.id, bob));
    expect(error.code).to.equal('ORDER_NOT_FOUND');
    expect(error.category).to.equal('not-found');
    expect(await stored(world, order.id)).to.deep.include({
      status: 'CONFIRMED',
    });
    expect(await world.product.stockOf(lamp.id)).to.equal(3);
  });

  it("lets an admin cancel anyone's order", async () => {
    const { world, lamp, order } = await aliceOrder();
    expect((await cancel(world, order.id, admin)).status).to.equal('CANCELLED');
    expect(await world.product.stockOf(lamp.id)).to.equal(5);
  });

  it('refuses an unknown order with ORDER_NOT_FOUND', async () => {
    const { world } = await aliceOrder();
    expect((await rejection(cancel(world, newId(), admin))).code).to.equal('ORDER_NOT_FOUND');
  });
});
