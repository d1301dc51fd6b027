import { expect } from 'chai';
import { createProduct } from '../../../src/modules/product/application/use-cases/create-product.use-case.ts';
import { deleteProduct } from '../../../src/modules/product/application/use-cases/delete-product.use-case.ts';
import { releaseStock } from '../../../src/modules/product/application/use-cases/release-stock.use-case.ts';
import { reserveStock } from '../../../src/modules/product/application/use-cases/reserve-stock.use-case.ts';
import type { ProductProps } from '../../../src/modules/product/domain/product.ts';
import { newId } from '../../../src/shared/id.ts';
import { events, inboxEntry, type ProductWorld, productInput, productWorld } from '../fixtures.ts';

/** Two products (stock 10 and 5) and an order that reserved 3 and 2 of them. */
async function reservedOrder() {
  const world = productWorld();
  const a = await createProduct(world.deps, productInput({ stock: 10 }), 'corr-seed');
  const b = await createProduct(world.deps, productInput({ stock: 5 }), 'corr-seed');
  const orderId = newId();
  const reserved = await reserveStock(world.deps, {
    orderId,
    items: [
      { productId: a.id, quantity: 3 },
      { productId: b.id, quantity: 2 },
    ],
    correlationId: 'corr-r',
  });
  if (reserved.status !== 'RESERVED') expect.fail(`setup: the reservation was ${reserved.status}`);
  return { world, a, b, orderId, lines: reserved.lines };
}

const release = (world: ProductWorld, orderId: string, inbox?: { consumer: string; eventId: string }) =>
  releaseStock(world.deps, {
    orderId,
    correlationId: 'corr-x',
    ...(inbox ? { inbox } : {}),
  });

const stocks = (world: ProductWorld, ...products: ProductProps[]) =>
  Promise.all(products.map((p) => world.stockOf(p.id)));

describe('releaseStock', () => {
  it('gives the reserved stock back and answers RELEASED with the lines', async () => {
    const { world, a, b, orderId, lines } = await reservedOrder();
    const outcome = await release(world, orderId);
    expect(outcome).to.deep.equal({ status: 'RELEASED', lines });
    expect(await stocks(world, a, b)).to.deep.equal([10, 5]);
    expect(world.persistence.transactions.state.reservations.get(orderId)).to.deep.include({ status: 'RELEASED' });
  });

  it('writes one StockReleased with the released lines', async () => {
    const { world, orderId, lines } = await reservedOrder();
    await release(world, orderId);
    const [event, ...rest] = events(world.persistence, 'StockReleased');
    expect(rest).to.have.length(0);
    expect(event).to.deep.include({
      aggregateId: orderId,
      correlationId: 'corr-x',
    });
    expect(event!.payload).to.deep.equal({ orderId, lines });
  });

  it('changes nothing the second time', async () => {
    const { world, a, b, orderId } = await reservedOrder();
    await release(world, orderId);
    expect(await release(world, orderId)).to.equal(null);
    expect(await stocks(world, a, b)).to.deep.equal([10, 5]);
    expect(events(world.persistence, 'StockReleased')).to.have.length(1);
  });

  it('changes nothing for a redelivered OrderCancelled', async () => {
    const { world, a, b, orderId } = await reservedOrder();
    const inbox = inboxEntry('product-service');
    await release(world, orderId, inbox);
    expect(world.persistence.transactions.state.processed.has(`product-service/${inbox.eventId}`)).to.equal(true);
    expect(await release(world, orderId, inbox)).to.equal(null);
    expect(await stocks(world, a, b)).to.deep.equal([10, 5]);
    expect(events(world.persistence, 'StockReleased')).to.have.length(1);
  });

  it('changes nothing for an order without a reservation', async () => {
    const { world, a, b } = await reservedOrder();
    const before = events(world.persistence).length;
    expect(await release(world, newId())).to.equal(null);
    expect(await stocks(world, a, b)).to.deep.equal([7, 3]);
    expect(events(world.persistence)).to.have.length(before);
  });

  it('changes nothing for a rejected reservation', async () => {
    const world = productWorld();
    const a = await createProduct(world.deps, productInput({ stock: 1 }), 'corr-seed');
    const orderId = newId();
    await reserveStock(world.deps, {
      orderId,
      items: [{ productId: a.id, quantity: 2 }],
      correlationId: 'c',
    });
    expect(await release(world, orderId)).to.equal(null);
    expect(await world.stockOf(a.id)).to.equal(1);
    expect(events(world.persistence, 'StockReleased')).to.have.length(0);
  });

  it('does not let the order reserve again once released', async () => {
    const { world, a, b, orderId } = await reservedOrder();
    await release(world, orderId);
    const again = await reserveStock(world.deps, {
      orderId,
      items: [{ productId: a.id, quantity: 3 }],
      correlationId: 'c',
    });
    expect(again.status).to.equal('RELEASED');
    expect(await stocks(world, a, b)).to.deep.equal([10, 5]);
  });

  it('still releases the other lines when a product was deleted since', async () => {
    const { world, a, b, orderId } = await reservedOrder();
    await deleteProduct(world.deps, a.id, 'c');
    expect((await release(world, orderId))?.status).to.equal('RELEASED');
    expect(await world.stockOf(b.id)).to.equal(5);
  });

  it('invalidates the cached copies of the products it gave stock back to', async () => {
    const { world, a, orderId } = await reservedOrder();
    await world.cache.set(`product:${a.id}`, { stale: true }, 60);
    await release(world, orderId);
    expect(await world.cache.get(`product:${a.id}`)).to.equal(undefined);
  });
});
