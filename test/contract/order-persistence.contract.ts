import { expect } from 'chai';
import type { OrderPersistence } from '../../src/modules/order/application/ports/order-persistence.port.ts';
import { Order } from '../../src/modules/order/domain/order.ts';
import { DomainError } from '../../src/shared/domain-error.ts';
import { newId } from '../../src/shared/id.ts';

export interface OrderStoreUnderTest {
  persistence: OrderPersistence;
  dispose(): Promise<void>;
}

const now = new Date('2026-01-02T03:04:05.678Z');

const placed = (customerId: string) =>
  Order.place({
    id: newId(),
    customerId,
    currency: 'EUR',
    now,
    items: [{ productId: newId(), sku: 'A-1', name: 'Apple', unitPriceCents: 120, quantity: 3 }],
  }).order;

/** The product module's answer to a reservation of `order`, at `unitPriceCents` a line. */
const pricedAt = (order: Order, unitPriceCents: number) =>
  order.toProps().items.map((i) => ({
    productId: i.productId,
    sku: `SKU-${i.productId.slice(0, 4)}`,
    name: 'Priced',
    unitPriceCents,
    currency: 'EUR',
  }));

/** What every OrderPersistence adapter must do: the order module relies on exactly this. */
export function describeOrderPersistenceContract(name: string, make: () => Promise<OrderStoreUnderTest>) {
  describe(`OrderPersistence contract: ${name}`, function () {
    this.timeout(30_000);
    let t: OrderStoreUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(() => t.dispose());

    const insert = (o: Order) => t.persistence.transaction((tx) => tx.orders.insert(o));

    it('stores and reads an order back unchanged', async () => {
      const order = placed('alice');
      await insert(order);
      expect((await t.persistence.orders.findById(order.id))?.toProps()).to.deep.equal(order.toProps());
      expect(await t.persistence.orders.findById(newId())).to.equal(null);
    });

    it('moves an order only from the expected version', async () => {
      const order = placed('alice');
      await insert(order);
      const confirmed = order.confirm(pricedAt(order, 120), now).order;
      expect(await t.persistence.transaction((tx) => tx.orders.update(confirmed, 1))).to.equal(true);
      expect(await t.persistence.transaction((tx) => tx.orders.update(order.reject('X', now).order, 1))).to.equal(
        false,
      );
      const stored = (await t.persistence.orders.findById(order.id))!;
      expect(stored.status).to.equal('CONFIRMED');
      expect(stored.version).to.equal(2);
    });

    it('stores an order whose lines are not priced yet, and the prices its confirmation gives them', async () => {
      const order = Order.place({
        id: newId(),
        customerId: 'alice',
        currency: null,
        now,
        items: [{ productId: newId(), sku: null, name: null, unitPriceCents: null, quantity: 2 }],
      }).order;
      await insert(order);
      const stored = (await t.persistence.orders.findById(order.id))!.toProps();
      expect(stored).to.deep.equal(order.toProps());
      expect(stored.totalCents).to.equal(null);
      expect(stored.currency).to.equal(null);
      const confirmed = order.confirm(pricedAt(order, 450), now).order;
      expect(await t.persistence.transaction((tx) => tx.orders.update(confirmed, 1))).to.equal(true);
      const priced = (await t.persistence.orders.findById(order.id))!.toProps();
      expect(priced).to.deep.equal(confirmed.toProps());
      expect(priced.totalCents).to.equal(900);
      expect(priced.currency).to.equal('EUR');
      expect(priced.items[0]!.unitPriceCents).to.equal(450);
    });

    it("lists one customer's orders, or everyone's, by status, after a cursor", async () => {
      const mine = [placed('alice'), placed('alice'), placed('alice')];
      const theirs = placed('bob');
      for (const o of [...mine, theirs]) await insert(o);
      await t.persistence.transaction((tx) =>
        tx.orders.update(mine[1]!.confirm(pricedAt(mine[1]!, 120), now).order, 1),
      );
      const ids = (os: Order[]) => os.map((o) => o.id);
      expect(ids(await t.persistence.orders.list({ customerId: 'alice', limit: 10 }))).to.deep.equal(ids(mine));
      expect(await t.persistence.orders.list({ limit: 10 })).to.have.length(4);
      expect(
        ids(await t.persistence.orders.list({ customerId: 'alice', status: 'CONFIRMED', limit: 10 })),
      ).to.deep.equal([mine[1]!.id]);
      expect(ids(await t.persistence.orders.list({ customerId: 'alice', limit: 1, after: mine[0]!.id }))).to.deep.equal(
        [mine[1]!.id],
      );
    });

    it('keeps one idempotency record per customer and key', async () => {
      const record = {
        customerId: 'alice',
        key: 'k-1',
        requestHash: 'a'.repeat(64),
        orderId: newId(),
        mode: 'sync' as const,
        createdAt: now,
      };
      await t.persistence.transaction((tx) => tx.idempotency.insert(record));
      const again = t.persistence.transaction((tx) => tx.idempotency.insert({ ...record, orderId: newId() }));
      const code = await again.then(
        () => 'no error',
        (e: unknown) => (e instanceof DomainError ? e.code : String(e)),
      );
      expect(code).to.equal('IDEMPOTENCY_KEY_TAKEN');
      expect(await t.persistence.idempotency.find('alice', 'k-1')).to.deep.equal(record);
      expect(await t.persistence.idempotency.find('bob', 'k-1')).to.equal(null);
      await t.persistence.transaction((tx) => tx.idempotency.insert({ ...record, customerId: 'bob' }));
    });

    it('keeps the newest version of each catalog entry', async () => {
      const productId = newId();
      const entry = {
        productId,
        sku: 'A-1',
        name: 'Apple',
        priceCents: 100,
        currency: 'EUR',
        version: 2,
        deleted: false,
      };
      await t.persistence.transaction((tx) => tx.catalog.upsert(entry));
      await t.persistence.transaction((tx) => tx.catalog.upsert({ ...entry, version: 1, priceCents: 1 }));
      expect(await t.persistence.catalog.findByIds([productId])).to.deep.equal([entry]);
      const newer = { ...entry, version: 3, deleted: true };
      await t.persistence.transaction((tx) => tx.catalog.upsert(newer));
      expect(await t.persistence.catalog.findByIds([productId, newId()])).to.deep.equal([newer]);
    });
  });
}
