import { expect } from 'chai';
import {
  MAX_ITEMS,
  MAX_QUANTITY,
  Order,
  type OrderItem,
  type OrderStatus,
} from '../../../src/modules/order/domain/order.ts';
import { newId } from '../../../src/shared/id.ts';
import { T0, thrown } from '../fixtures.ts';

const LATER = new Date(T0.getTime() + 60_000);
const EVEN_LATER = new Date(T0.getTime() + 120_000);

const item = (overrides: Partial<OrderItem> = {}): OrderItem => ({
  productId: newId(),
  sku: 'SKU-1',
  name: 'Widget',
  unitPriceCents: 250,
  quantity: 1,
  ...overrides,
});

const input = (items: OrderItem[]) => ({
  id: newId(),
  customerId: 'alice',
  items,
  currency: 'EUR',
  now: T0,
});

/** The product module's prices for every line of `order`. */
const priced = (order: Order, unitPriceCents = 300, currency = 'EUR') =>
  order.toProps().items.map((i) => ({
    productId: i.productId,
    sku: 'SKU-P',
    name: 'Priced widget',
    unitPriceCents,
    currency,
  }));

const pending = () => Order.place(input([item({ quantity: 2 })])).order;
const confirmed = () => {
  const order = pending();
  return order.confirm(priced(order), LATER).order;
};
const rejected = () => pending().reject('INSUFFICIENT_STOCK', LATER).order;
const cancelled = () => confirmed().cancel(EVEN_LATER).order;

const inState: Record<OrderStatus, () => Order> = {
  PENDING: pending,
  CONFIRMED: confirmed,
  REJECTED: rejected,
  CANCELLED: cancelled,
};

const moves = {
  confirm: (o: Order) => o.confirm(priced(o), EVEN_LATER),
  reject: (o: Order) => o.reject('INSUFFICIENT_STOCK', EVEN_LATER),
  cancel: (o: Order) => o.cancel(EVEN_LATER),
};

/** Asserts that placing these items is refused as an invalid order. */
function expectInvalid(items: OrderItem[]) {
  const error = thrown(() => Order.place(input(items)));
  expect(error.code).to.equal('INVALID_ORDER');
  expect(error.category).to.equal('invalid');
}

describe('Order', () => {
  describe('place', () => {
    it('records a PENDING order at version 1 with the total of its items', () => {
      const items = [item({ unitPriceCents: 250, quantity: 3 }), item({ unitPriceCents: 1999, quantity: 2 })];
      const cmd = input(items);
      const props = Order.place(cmd).order.toProps();
      expect(props).to.deep.equal({
        id: cmd.id,
        customerId: 'alice',
        status: 'PENDING',
        rejectionReason: null,
        items,
        totalCents: 250 * 3 + 1999 * 2,
        currency: 'EUR',
        version: 1,
        createdAt: T0,
        updatedAt: T0,
      });
    });

    it('describes the placement with an OrderPlaced event', () => {
      const items = [item({ quantity: 3 }), item({ quantity: 1, unitPriceCents: 100 })];
      const cmd = input(items);
      const { event } = Order.place(cmd);
      expect(event).to.deep.equal({
        type: 'OrderPlaced',
        aggregateId: cmd.id,
        payload: {
          orderId: cmd.id,
          customerId: 'alice',
          items: items.map(({ productId, quantity }) => ({
            productId,
            quantity,
          })),
          totalCents: 850,
          currency: 'EUR',
        },
      });
    });

    it('refuses an order without items', () => {
      expectInvalid([]);
    });

    it(`accepts ${MAX_ITEMS} items and refuses ${MAX_ITEMS + 1}`, () => {
      const many = (n: number) => Array.from({ length: n }, () => item());
      expect(Order.place(input(many(MAX_ITEMS))).order.toProps().items).to.have.length(MAX_ITEMS);
      expectInvalid(many(MAX_ITEMS + 1));
    });

    it('refuses the same product twice', () => {
      const productId = newId();
      expectInvalid([item({ productId }), item({ productId, quantity: 2 })]);
    });

    it(`accepts quantities 1 and ${MAX_QUANTITY}`, () => {
      expect(Order.place(input([item({ quantity: 1 }), item({ quantity: MAX_QUANTITY })])).order.status).to.equal(
        'PENDING',
      );
    });

    it('refuses zero, negative, fractional, non-numeric and too large quantities', () => {
      for (const quantity of [0, -1, 1.5, MAX_QUANTITY + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expectInvalid([item(), item({ quantity })]);
      }
    });
  });

  describe('state machine', () => {
    it("confirms a PENDING order at the product module's prices: version 2, OrderConfirmed with the total", () => {
      const order = pending(); // provisionally 2 x 250
      const { order: next, event } = order.confirm(priced(order, 300), LATER);
      expect(next.toProps()).to.deep.include({
        status: 'CONFIRMED',
        rejectionReason: null,
        version: 2,
        totalCents: 600,
        currency: 'EUR',
      });
      expect(next.toProps().items[0]).to.deep.include({ sku: 'SKU-P', name: 'Priced widget', unitPriceCents: 300 });
      expect(next.toProps().updatedAt).to.deep.equal(LATER);
      expect(next.toProps().createdAt).to.deep.equal(T0);
      expect(event).to.deep.equal({
        type: 'OrderConfirmed',
        aggregateId: order.id,
        payload: { orderId: order.id, totalCents: 600, currency: 'EUR' },
      });
    });

    it('prices lines the order module did not know when the order was placed', () => {
      const unknown = item({ sku: null, name: null, unitPriceCents: null, quantity: 3 });
      const order = Order.place({ ...input([item({ quantity: 1 }), unknown]), currency: null }).order;
      expect(order.toProps()).to.deep.include({ totalCents: null, currency: null });
      const next = order.confirm(priced(order, 200, 'USD'), LATER).order.toProps();
      expect(next).to.deep.include({ totalCents: 800, currency: 'USD' });
      expect(next.items.map((i) => i.unitPriceCents)).to.deep.equal([200, 200]);
    });

    it('refuses a confirmation that leaves a line unpriced or mixes currencies', () => {
      const order = Order.place(input([item(), item()])).order;
      const lines = priced(order);
      expect(thrown(() => order.confirm(lines.slice(1), LATER)).code).to.equal('INVALID_ORDER');
      expect(thrown(() => order.confirm([lines[0]!, { ...lines[1]!, currency: 'USD' }], LATER)).code).to.equal(
        'INVALID_ORDER',
      );
    });

    it('rejects a PENDING order with its reason: version 2, OrderRejected', () => {
      const order = pending();
      const { order: next, event } = order.reject('INSUFFICIENT_STOCK', LATER);
      expect(next.toProps()).to.deep.include({
        status: 'REJECTED',
        rejectionReason: 'INSUFFICIENT_STOCK',
        version: 2,
      });
      expect(event).to.deep.equal({
        type: 'OrderRejected',
        aggregateId: order.id,
        payload: { orderId: order.id, reason: 'INSUFFICIENT_STOCK' },
      });
    });

    it('cancels a CONFIRMED order: version 3, OrderCancelled with the items to release', () => {
      const order = confirmed();
      const { order: next, event } = order.cancel(EVEN_LATER);
      expect(next.toProps()).to.deep.include({
        status: 'CANCELLED',
        rejectionReason: null,
        version: 3,
      });
      expect(next.toProps().updatedAt).to.deep.equal(EVEN_LATER);
      const { productId } = order.toProps().items[0]!;
      expect(event).to.deep.equal({
        type: 'OrderCancelled',
        aggregateId: order.id,
        payload: { orderId: order.id, items: [{ productId, quantity: 2 }] },
      });
    });

    it('leaves the order it moved from unchanged', () => {
      const order = pending();
      order.confirm(priced(order), LATER);
      expect(order.toProps()).to.deep.include({
        status: 'PENDING',
        version: 1,
        updatedAt: T0,
      });
    });

    const legal = new Set(['PENDING.confirm', 'PENDING.reject', 'CONFIRMED.cancel']);
    for (const [from, make] of Object.entries(inState)) {
      for (const [move, apply] of Object.entries(moves)) {
        if (legal.has(`${from}.${move}`)) continue;
        it(`refuses to ${move} a ${from} order as an illegal transition (conflict)`, () => {
          const order = make();
          const error = thrown(() => apply(order));
          expect(error.code).to.equal('ILLEGAL_TRANSITION');
          expect(error.category).to.equal('conflict');
          expect(order.status).to.equal(from);
        });
      }
    }
  });

  it('hands out copies of its items', () => {
    const order = pending();
    order.toProps().items[0]!.quantity = 99;
    expect(order.toProps().items[0]!.quantity).to.equal(2);
  });
});
