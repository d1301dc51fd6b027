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

const pending = () => Order.place(input([item({ quantity: 2 })])).order;
const confirmed = () => pending().confirm(LATER).order;
const rejected = () => pending().reject('INSUFFICIENT_STOCK', LATER).order;
const cancelled = () => confirmed().cancel(EVEN_LATER).order;

const inState: Record<OrderStatus, () => Order> = {
  PENDING: pending,
  CONFIRMED: confirmed,
  REJECTED: rejected,
  CANCELLED: cancelled,
};

const moves = {
  confirm: (o: Order) => o.confirm(EVEN_LATER),
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
    it('confirms a PENDING order: version 2, OrderConfirmed', () => {
      const order = pending();
      const { order: next, event } = order.confirm(LATER);
      expect(next.toProps()).to.deep.include({
        status: 'CONFIRMED',
        rejectionReason: null,
        version: 2,
      });
      expect(next.toProps().updatedAt).to.deep.equal(LATER);
      expect(next.toProps().createdAt).to.deep.equal(T0);
      expect(event).to.deep.equal({
        type: 'OrderConfirmed',
        aggregateId: order.id,
        payload: { orderId: order.id },
      });
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
      order.confirm(LATER);
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

  describe('refuse', () => {
    it('records the order as REJECTED with its reason, described by OrderRejected and not OrderPlaced', () => {
      const cmd = input([item({ unitPriceCents: 0, quantity: 2 })]);
      const { order, event } = Order.refuse(cmd, 'UNKNOWN_PRODUCT');
      expect(order.toProps()).to.deep.include({
        id: cmd.id,
        status: 'REJECTED',
        rejectionReason: 'UNKNOWN_PRODUCT',
        version: 2,
      });
      expect(event).to.deep.equal({
        type: 'OrderRejected',
        aggregateId: cmd.id,
        payload: { orderId: cmd.id, reason: 'UNKNOWN_PRODUCT' },
      });
    });

    it('still refuses malformed input as invalid', () => {
      expect(thrown(() => Order.refuse(input([]), 'UNKNOWN_PRODUCT')).code).to.equal('INVALID_ORDER');
    });
  });

  it('hands out copies of its items', () => {
    const order = pending();
    order.toProps().items[0]!.quantity = 99;
    expect(order.toProps().items[0]!.quantity).to.equal(2);
  });
});
