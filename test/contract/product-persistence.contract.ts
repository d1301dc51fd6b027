import { expect } from 'chai';
import type { OutboxStore } from '../../src/adapters/messaging/outbox-relay.ts';
import type { ProductPersistence } from '../../src/modules/product/application/ports/product-persistence.port.ts';
import { productDocument } from '../../src/modules/product/application/product-document.ts';
import { MAX_PRICE_CENTS } from '../../src/modules/product/domain/money.ts';
import { Product } from '../../src/modules/product/domain/product.ts';
import type { Reservation } from '../../src/modules/product/domain/reservation.ts';
import { DomainError } from '../../src/shared/domain-error.ts';
import { newId } from '../../src/shared/id.ts';
import { envelope } from './event-bus.contract.ts';
import { peek } from './outbox-store.contract.ts';

export interface ProductStoreUnderTest {
  persistence: ProductPersistence;
  outboxStore: OutboxStore;
  dispose(): Promise<void>;
}

const now = new Date('2026-01-02T03:04:05.678Z');
let skuCounter = 0;
const product = (overrides: Partial<{ name: string; sku: string; stock: number; priceCents: number }> = {}) =>
  Product.create(
    newId(),
    {
      sku: overrides.sku ?? `SKU-${process.pid}-${++skuCounter}`,
      name: overrides.name ?? 'Widget',
      description: 'A widget',
      priceCents: overrides.priceCents ?? 1999,
      currency: 'EUR',
      stock: overrides.stock ?? 10,
    },
    now,
  );

const codeOf = async (work: Promise<unknown>) => {
  try {
    await work;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  return 'no error';
};

/** What every ProductPersistence adapter must do: the product module relies on exactly this. */
export function describeProductPersistenceContract(name: string, make: () => Promise<ProductStoreUnderTest>) {
  describe(`ProductPersistence contract: ${name}`, function () {
    this.timeout(30_000);
    let t: ProductStoreUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(() => t.dispose());

    const insert = (p: Product) => t.persistence.transaction((tx) => tx.products.insert(p));

    it('stores and reads a product back unchanged', async () => {
      const p = product();
      await insert(p);
      const found = await t.persistence.products.findById(p.id);
      expect(found?.toProps()).to.deep.equal(p.toProps());
      expect((await t.persistence.products.findByIds([p.id, newId()])).map((x) => x.id)).to.deep.equal([p.id]);
      expect(await t.persistence.products.findById(newId())).to.equal(null);
    });

    it("reads a product's document as the API answers it, after every committed change", async () => {
      const p = product();
      await insert(p);
      // The same document, whatever order the store gives the fields in.
      const documentOf = (x: Product) => JSON.parse(productDocument(x.toProps()).json) as unknown;
      const read = async () => {
        const document = await t.persistence.products.findDocument(p.id);
        return document && { version: document.version, props: JSON.parse(document.json) as unknown };
      };
      expect(await read()).to.deep.equal({ version: 1, props: documentOf(p) });
      // Read twice: a cache in front answers the second one, and must answer it as the store would.
      expect(await read()).to.deep.equal({ version: 1, props: documentOf(p) });
      const renamed = p.change({ name: 'Renamed' }, now);
      expect(await t.persistence.transaction((tx) => tx.products.update(renamed, p.version))).to.equal(true);
      expect(await read()).to.deep.equal({ version: 2, props: documentOf(renamed) });
      await t.persistence.transaction((tx) => tx.products.adjustStock(p.id, -1, now));
      expect(await read()).to.deep.include({ version: 3 });
      expect((await t.persistence.products.findById(p.id))?.toProps().stock).to.equal(9);
      await t.persistence.transaction((tx) => tx.products.delete(p.id));
      expect(await t.persistence.products.findDocument(p.id)).to.equal(null);
      expect(await t.persistence.products.findDocument(newId())).to.equal(null);
    });

    it('refuses a second product with the same sku', async () => {
      const first = product();
      await insert(first);
      const twin = product({ sku: first.sku });
      expect(await codeOf(insert(twin))).to.equal('SKU_TAKEN');
      expect(await t.persistence.products.findById(twin.id)).to.equal(null);
    });

    it('treats skus that differ only in case as different', async () => {
      const lower = product({ sku: `case-${process.pid}-${++skuCounter}` });
      await insert(lower);
      const upper = product({ sku: lower.sku.toUpperCase() });
      await insert(upper);
      expect((await t.persistence.products.findById(upper.id))?.sku).to.equal(upper.sku);
    });

    it('keeps the largest price exactly, as a number', async () => {
      const p = product({ priceCents: MAX_PRICE_CENTS });
      await insert(p);
      expect((await t.persistence.products.findById(p.id))!.toProps().priceCents).to.equal(MAX_PRICE_CENTS);
    });

    it('updates only from the expected version', async () => {
      const p = product();
      await insert(p);
      const renamed = p.change({ name: 'Renamed' }, now);
      expect(await t.persistence.transaction((tx) => tx.products.update(renamed, 1))).to.equal(true);
      expect(
        await t.persistence.transaction((tx) => tx.products.update(renamed.change({ name: 'Lost' }, now), 1)),
      ).to.equal(false);
      const stored = (await t.persistence.products.findById(p.id))!.toProps();
      expect(stored.name).to.equal('Renamed');
      expect(stored.version).to.equal(2);
    });

    it('takes stock only while there is enough, and moves the version on', async () => {
      const p = product({ stock: 3 });
      await insert(p);
      const take = (n: number) => t.persistence.transaction((tx) => tx.products.adjustStock(p.id, -n, now));
      expect(await take(2)).to.equal(true);
      expect(await take(2)).to.equal(false);
      expect(await take(1)).to.equal(true);
      expect(await t.persistence.transaction((tx) => tx.products.adjustStock(p.id, 4, now))).to.equal(true);
      expect(await t.persistence.transaction((tx) => tx.products.adjustStock(newId(), -1, now))).to.equal(false);
      const stored = (await t.persistence.products.findById(p.id))!.toProps();
      expect(stored.stock).to.equal(4);
      expect(stored.version).to.equal(4);
    });

    it('never oversells under concurrent takes', async () => {
      const p = product({ stock: 5 });
      await insert(p);
      const results = await Promise.all(
        Array.from({ length: 25 }, () => t.persistence.transaction((tx) => tx.products.adjustStock(p.id, -1, now))),
      );
      expect(results.filter(Boolean)).to.have.length(5);
      expect((await t.persistence.products.findById(p.id))!.toProps().stock).to.equal(0);
    });

    it('lists by id after a cursor, filtering by name or sku case-insensitively', async () => {
      const items = [product({ name: 'Red Apple' }), product({ name: 'Green apple' }), product({ name: 'Pear 100%' })];
      for (const p of items) await insert(p);
      const ids = items.map((p) => p.id).sort();
      const all = await t.persistence.products.list({ limit: 10 });
      expect(all.map((p) => p.id)).to.deep.equal(ids);
      const page = await t.persistence.products.list({ limit: 1, after: ids[0] });
      expect(page.map((p) => p.id)).to.deep.equal([ids[1]]);
      const apples = await t.persistence.products.list({ limit: 10, q: 'APPLE' });
      expect(apples.map((p) => p.toProps().name).sort()).to.deep.equal(['Green apple', 'Red Apple']);
      expect((await t.persistence.products.list({ limit: 10, q: '0%' })).map((p) => p.id)).to.deep.equal([
        items[2]!.id,
      ]);
      expect(await t.persistence.products.list({ limit: 10, q: '_' })).to.have.length(0);
      const bySku = await t.persistence.products.list({ limit: 10, q: items[1]!.sku.toLowerCase() });
      expect(bySku.map((p) => p.id)).to.deep.equal([items[1]!.id]);
    });

    it('deletes once', async () => {
      const p = product();
      await insert(p);
      expect((await t.persistence.transaction((tx) => tx.products.delete(p.id)))?.id).to.equal(p.id);
      expect(await t.persistence.transaction((tx) => tx.products.delete(p.id))).to.equal(null);
      expect(await t.persistence.products.findById(p.id)).to.equal(null);
    });

    it('keeps one reservation per order', async () => {
      const reservation: Reservation = {
        orderId: newId(),
        status: 'RESERVED',
        reason: null,
        lines: [{ productId: newId(), sku: 'A', name: 'A', unitPriceCents: 5, currency: 'EUR', quantity: 2 }],
        createdAt: now,
        updatedAt: now,
      };
      await t.persistence.transaction((tx) => tx.reservations.insert(reservation));
      expect(await codeOf(t.persistence.transaction((tx) => tx.reservations.insert(reservation)))).to.equal(
        'RESERVATION_EXISTS',
      );
      const release = () =>
        t.persistence.transaction((tx) => tx.reservations.update({ ...reservation, status: 'RELEASED' }, 'RESERVED'));
      expect(await release()).to.equal(true);
      expect(await release()).to.equal(false);
      const found = await t.persistence.transaction((tx) => tx.reservations.find(reservation.orderId));
      expect(found).to.deep.equal({ ...reservation, status: 'RELEASED' });
      expect(await t.persistence.transaction((tx) => tx.reservations.find(newId()))).to.equal(null);
    });

    it('lets only one of two concurrent transactions move a reservation on', async () => {
      const reservation: Reservation = {
        orderId: newId(),
        status: 'RESERVED',
        reason: null,
        lines: [],
        createdAt: now,
        updatedAt: now,
      };
      await t.persistence.transaction((tx) => tx.reservations.insert(reservation));
      const release = () =>
        t.persistence.transaction(async (tx) => {
          const seen = await tx.reservations.find(reservation.orderId);
          await new Promise((r) => setTimeout(r, 20));
          return seen?.status === 'RESERVED' && tx.reservations.update({ ...seen, status: 'RELEASED' }, 'RESERVED');
        });
      const results = await Promise.all([release(), release()]);
      expect(results.filter(Boolean)).to.have.length(1);
    });

    it('rolls back everything a failed transaction wrote, outbox and inbox included', async () => {
      const p = product();
      const event = envelope(p.id);
      const failed = t.persistence.transaction(async (tx) => {
        await tx.products.insert(p);
        await tx.outbox.append('product-events', [event]);
        await tx.inbox.markProcessed('tester', event.id);
        throw new Error('boom');
      });
      await failed.then(
        () => expect.fail('should have thrown'),
        (e: Error) => expect(e.message).to.equal('boom'),
      );
      expect(await t.persistence.products.findById(p.id)).to.equal(null);
      expect(await peek(t.outboxStore)).to.deep.equal([]);
      expect(await t.persistence.transaction((tx) => tx.inbox.markProcessed('tester', event.id))).to.equal(true);
    });

    it('hands committed outbox events to the relay in commit order until marked published', async () => {
      const a = envelope(newId(), 'First');
      const b = envelope(newId(), 'Second');
      await t.persistence.transaction((tx) => tx.outbox.append('product-events', [a]));
      await t.persistence.transaction((tx) => tx.outbox.append('product-events', [b]));
      const claimed = await peek(t.outboxStore);
      expect(claimed.map((r) => [r.topic, r.event])).to.deep.equal([
        ['product-events', a],
        ['product-events', b],
      ]);
      expect(await t.outboxStore.withClaim(10, async () => [claimed[0]!.seq])).to.equal(2);
      expect((await peek(t.outboxStore)).map((r) => r.event.id)).to.deep.equal([b.id]);
    });

    it('records a processed event once per consumer', async () => {
      const id = newId();
      const mark = (consumer: string) => t.persistence.transaction((tx) => tx.inbox.markProcessed(consumer, id));
      expect(await mark('one')).to.equal(true);
      expect(await mark('one')).to.equal(false);
      expect(await mark('two')).to.equal(true);
    });
  });
}
