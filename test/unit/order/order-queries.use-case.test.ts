import { expect } from 'chai';
import { getOrder } from '../../../src/modules/order/application/use-cases/get-order.use-case.ts';
import { listOrders } from '../../../src/modules/order/application/use-cases/list-orders.use-case.ts';
import type { Actor } from '../../../src/modules/order/application/actor.ts';
import { placeOrder } from '../../../src/modules/order/application/use-cases/place-order.use-case.ts';
import type { OrderProps, OrderStatus } from '../../../src/modules/order/domain/order.ts';
import { newId } from '../../../src/shared/id.ts';
import { type OrderWorld, orderWorld, rejection } from '../fixtures.ts';

const alice: Actor = { id: 'alice', role: 'customer' };
const bob: Actor = { id: 'bob', role: 'customer' };
const admin: Actor = { id: 'root', role: 'admin' };

/**
 * Alice: CONFIRMED, PENDING, REJECTED (unknown product), CONFIRMED; Bob: CONFIRMED, PENDING — in that
 * order of creation.
 */
async function shop() {
  const world = orderWorld();
  const lamp = await world.addProduct({ stock: 100 });
  const order = async (customerId: string, status: OrderStatus) => {
    const { order } = await placeOrder(world.deps, {
      customerId,
      items: [{ productId: status === 'REJECTED' ? newId() : lamp.id, quantity: 1 }],
      mode: status === 'PENDING' ? 'async' : 'sync',
      correlationId: 'corr-q',
    });
    expect(order.status).to.equal(status);
    return order;
  };
  const orders = {
    alice: [
      await order('alice', 'CONFIRMED'),
      await order('alice', 'PENDING'),
      await order('alice', 'REJECTED'),
      await order('alice', 'CONFIRMED'),
    ],
    bob: [await order('bob', 'CONFIRMED'), await order('bob', 'PENDING')],
  };
  return { world, orders };
}

const ids = (orders: OrderProps[]) => orders.map((o) => o.id);

/** Walks every page of a listing and returns the pages' ids. */
async function allPages(world: OrderWorld, actor: Actor, limit: number, status?: OrderStatus): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listOrders(world.deps, { actor, status, limit, after });
    pages.push(ids(page.items));
    if (page.nextCursor === null) return pages;
    after = page.nextCursor;
  }
}

describe('getOrder', () => {
  it('shows customers their own order', async () => {
    const { world, orders } = await shop();
    const mine = orders.alice[0]!;
    expect(await getOrder(world.deps, mine.id, alice)).to.deep.equal(mine);
  });

  it("hides another customer's order as ORDER_NOT_FOUND", async () => {
    const { world, orders } = await shop();
    const error = await rejection(getOrder(world.deps, orders.alice[0]!.id, bob));
    expect(error.code).to.equal('ORDER_NOT_FOUND');
    expect(error.category).to.equal('not-found');
  });

  it("shows an admin anyone's order", async () => {
    const { world, orders } = await shop();
    expect(await getOrder(world.deps, orders.bob[1]!.id, admin)).to.deep.equal(orders.bob[1]);
  });

  it('refuses an unknown order with ORDER_NOT_FOUND', async () => {
    const { world } = await shop();
    expect((await rejection(getOrder(world.deps, newId(), admin))).code).to.equal('ORDER_NOT_FOUND');
  });
});

describe('listOrders', () => {
  it('lists only the caller’s own orders for a customer, oldest first', async () => {
    const { world, orders } = await shop();
    const page = await listOrders(world.deps, { actor: bob, limit: 20 });
    expect(page).to.deep.equal({ items: orders.bob, nextCursor: null });
  });

  it("lists everyone's orders for an admin", async () => {
    const { world, orders } = await shop();
    const page = await listOrders(world.deps, { actor: admin, limit: 20 });
    expect(ids(page.items)).to.deep.equal(ids([...orders.alice, ...orders.bob]));
  });

  it('filters by status', async () => {
    const { world, orders } = await shop();
    const mine = await listOrders(world.deps, {
      actor: alice,
      status: 'CONFIRMED',
      limit: 20,
    });
    expect(ids(mine.items)).to.deep.equal(ids([orders.alice[0]!, orders.alice[3]!]));
    const pending = await listOrders(world.deps, {
      actor: admin,
      status: 'PENDING',
      limit: 20,
    });
    expect(ids(pending.items)).to.deep.equal(ids([orders.alice[1]!, orders.bob[1]!]));
  });

  it('pages without overlap and ends with a null cursor', async () => {
    const { world, orders } = await shop();
    const pages = await allPages(world, admin, 4);
    expect(pages.map((p) => p.length)).to.deep.equal([4, 2]);
    expect(pages.flat()).to.deep.equal(ids([...orders.alice, ...orders.bob]));
  });

  it('pages a customer’s filtered listing', async () => {
    const { world, orders } = await shop();
    const pages = await allPages(world, alice, 1, 'CONFIRMED');
    expect(pages).to.deep.equal([[orders.alice[0]!.id], [orders.alice[3]!.id]]);
  });

  it('returns an empty page for a customer without orders', async () => {
    const { world } = await shop();
    const page = await listOrders(world.deps, {
      actor: { id: 'carol', role: 'customer' },
      limit: 20,
    });
    expect(page).to.deep.equal({ items: [], nextCursor: null });
  });
});
