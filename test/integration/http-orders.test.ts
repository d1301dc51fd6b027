import { expect } from 'chai';
import { call, eventually, type HttpResult } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import {
  absentId,
  createProduct,
  drainOutboxes,
  expectProblem,
  getOrder,
  type Item,
  listAllOrders,
  type Order,
  placeOrder,
  settled,
  stockOf,
  stocksOf,
  TEST_SETTINGS,
  tokens,
} from '../support/shop.ts';

let customerSeq = 0;
/** A customer id no other test has used, so per-customer listings are exact. */
const freshCustomer = (name: string) => `${name}-${Date.now().toString(36)}-${++customerSeq}`;

for (const mode of ['sync', 'async'] as const) {
  describe(`HTTP orders (--mode ${mode})`, () => {
    let platform: TestPlatform;
    let admin: string;
    let alice: string;
    let bob: string;

    before(async () => {
      platform = await startMonolith({ ...TEST_SETTINGS, mode });
      admin = tokens(platform).admin;
      alice = tokens(platform).customer(freshCustomer('alice'));
      bob = tokens(platform).customer(freshCustomer('bob'));
    });
    after(() => platform.dispose());

    /** Checks the immediate answer the configured mode gives, and returns the order in its final state. */
    async function finalOf(placed: HttpResult<Order>, token: string): Promise<Order> {
      expect(placed.headers.get('content-type')).to.match(/^application\/json/);
      expect(placed.headers.get('location')).to.equal(`/api/v1/orders/${placed.body.id}`);
      if (mode === 'sync') {
        expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
        expect(placed.body.status).to.be.oneOf(['CONFIRMED', 'REJECTED']);
        const read = await getOrder(platform, token, placed.body.id);
        expect(read.body).to.deep.equal(placed.body);
        return placed.body;
      }
      expect(placed.status, JSON.stringify(placed.body)).to.equal(202);
      expect(placed.headers.get('preference-applied')).to.equal(null);
      return settled(platform, token, placed.body.id);
    }

    async function order(token: string, items: Item[], headers?: Record<string, string>) {
      const placed = await placeOrder(platform, token, items, headers ? { headers } : {});
      return { placed, final: await finalOf(placed, token) };
    }

    describe('placing', () => {
      it('confirms an order, priced from the catalog, and takes exactly the ordered stock', async () => {
        const p = await createProduct(platform, {
          stock: 5,
          priceCents: 1250,
          name: 'Teapot',
        });
        const { placed, final } = await order(alice, [{ productId: p.id, quantity: 3 }]);
        if (mode === 'async') expect(placed.body.status).to.equal('PENDING');
        expect(final.status).to.equal('CONFIRMED');
        expect(final).to.not.have.property('rejectionReason');
        expect(final.customerId).to.match(/^alice-/);
        expect(final.items).to.deep.equal([
          {
            productId: p.id,
            sku: p.sku,
            name: 'Teapot',
            unitPriceCents: 1250,
            quantity: 3,
          },
        ]);
        expect(final.totalCents).to.equal(3750);
        expect(final.currency).to.equal('EUR');
        expect(await stockOf(platform, p.id)).to.equal(2);
      });

      it('confirms a multi-item order and takes stock from every item', async () => {
        const a = await createProduct(platform, { stock: 4, priceCents: 100 });
        const b = await createProduct(platform, { stock: 2, priceCents: 250 });
        const { final } = await order(alice, [
          { productId: a.id, quantity: 4 },
          { productId: b.id, quantity: 1 },
        ]);
        expect(final.status).to.equal('CONFIRMED');
        expect(final.totalCents).to.equal(650);
        expect(await stocksOf(platform, [a.id, b.id])).to.deep.equal([0, 1]);
      });

      it('rejects with INSUFFICIENT_STOCK and takes nothing', async () => {
        const p = await createProduct(platform, { stock: 2 });
        const { final } = await order(alice, [{ productId: p.id, quantity: 3 }]);
        expect(final.status).to.equal('REJECTED');
        expect(final.rejectionReason).to.equal('INSUFFICIENT_STOCK');
        expect(await stockOf(platform, p.id)).to.equal(2);
      });

      it('is all-or-nothing: one short item rejects the order and leaves the other item untouched', async () => {
        const plenty = await createProduct(platform, { stock: 10 });
        const short = await createProduct(platform, { stock: 1 });
        const { final } = await order(alice, [
          { productId: plenty.id, quantity: 2 },
          { productId: short.id, quantity: 2 },
        ]);
        expect(final.status).to.equal('REJECTED');
        expect(final.rejectionReason).to.equal('INSUFFICIENT_STOCK');
        expect(await stocksOf(platform, [plenty.id, short.id])).to.deep.equal([10, 1]);
      });

      it('rejects an unknown product with UNKNOWN_PRODUCT and takes nothing from the known one', async () => {
        const known = await createProduct(platform, { stock: 3 });
        const placed = await placeOrder(platform, alice, [
          { productId: known.id, quantity: 1 },
          { productId: absentId(), quantity: 1 },
        ]);
        expect(placed.status).to.equal(mode === 'sync' ? 201 : 202);
        const final = await settled(platform, alice, placed.body.id);
        expect(final.status).to.equal('REJECTED');
        expect(final.rejectionReason).to.equal('UNKNOWN_PRODUCT');
        await drainOutboxes(platform);
        expect(await stockOf(platform, known.id)).to.equal(3);
      });

      it('rejects a product deleted since with UNKNOWN_PRODUCT', async () => {
        const p = await createProduct(platform, { stock: 3 });
        const deleted = await call(platform.url, 'DELETE', `/api/v1/products/${p.id}`, { token: admin });
        expect(deleted.status).to.equal(204);
        await drainOutboxes(platform);
        const placed = await placeOrder(platform, alice, [{ productId: p.id, quantity: 1 }]);
        const final = await settled(platform, alice, placed.body.id);
        expect(final.status).to.equal('REJECTED');
        expect(final.rejectionReason).to.equal('UNKNOWN_PRODUCT');
      });

      it('rejects an order mixing currencies and takes nothing', async () => {
        const eur = await createProduct(platform, {
          stock: 3,
          currency: 'EUR',
        });
        const usd = await createProduct(platform, {
          stock: 3,
          currency: 'USD',
        });
        const placed = await placeOrder(platform, alice, [
          { productId: eur.id, quantity: 1 },
          { productId: usd.id, quantity: 1 },
        ]);
        const final = await settled(platform, alice, placed.body.id);
        expect(final.status).to.equal('REJECTED');
        await drainOutboxes(platform);
        expect(await stocksOf(platform, [eur.id, usd.id])).to.deep.equal([3, 3]);
      });

      it('prices with a price changed after creation', async () => {
        const p = await createProduct(platform, { stock: 3, priceCents: 100 });
        const patched = await call(platform.url, 'PATCH', `/api/v1/products/${p.id}`, {
          token: admin,
          body: { priceCents: 175 },
        });
        expect(patched.status).to.equal(200);
        await drainOutboxes(platform);
        const { final } = await order(alice, [{ productId: p.id, quantity: 2 }]);
        expect(final.status).to.equal('CONFIRMED');
        expect(final.items[0]!.unitPriceCents).to.equal(175);
        expect(final.totalCents).to.equal(350);
      });

      it('lets an admin order too, as themselves', async () => {
        const p = await createProduct(platform, { stock: 1 });
        const { final } = await order(admin, [{ productId: p.id, quantity: 1 }]);
        expect(final.status).to.equal('CONFIRMED');
        expect(final.customerId).to.equal('admin-1');
        expect(await stockOf(platform, p.id)).to.equal(0);
      });

      it('refuses a request without a token with 401 and records nothing', async () => {
        const p = await createProduct(platform, { stock: 1 });
        const before = (await listAllOrders(platform, admin)).length;
        const r = await call(platform.url, 'POST', '/api/v1/orders', {
          body: { items: [{ productId: p.id, quantity: 1 }] },
        });
        expectProblem(r, 401);
        await drainOutboxes(platform);
        expect((await listAllOrders(platform, admin)).length).to.equal(before);
        expect(await stockOf(platform, p.id)).to.equal(1);
      });
    });

    describe('choosing the mode per request', () => {
      it('?mode=async answers 202 PENDING with Location, and the order settles', async () => {
        const p = await createProduct(platform, { stock: 2 });
        const r = await placeOrder(platform, alice, [{ productId: p.id, quantity: 2 }], { query: '?mode=async' });
        expect(r.status).to.equal(202);
        expect(r.body.status).to.be.oneOf(['PENDING', 'CONFIRMED']);
        expect(r.headers.get('location')).to.equal(`/api/v1/orders/${r.body.id}`);
        expect(r.headers.get('preference-applied')).to.equal(null);
        expect((await settled(platform, alice, r.body.id)).status).to.equal('CONFIRMED');
        expect(await stockOf(platform, p.id)).to.equal(0);
      });

      it('?mode=sync answers 201 with the final status', async () => {
        const p = await createProduct(platform, { stock: 2 });
        const ok = await placeOrder(platform, alice, [{ productId: p.id, quantity: 2 }], { query: '?mode=sync' });
        expect(ok.status).to.equal(201);
        expect(ok.body.status).to.equal('CONFIRMED');
        const short = await placeOrder(platform, alice, [{ productId: p.id, quantity: 1 }], { query: '?mode=sync' });
        expect(short.status).to.equal(201);
        expect(short.body).to.include({
          status: 'REJECTED',
          rejectionReason: 'INSUFFICIENT_STOCK',
        });
        expect(await stockOf(platform, p.id)).to.equal(0);
      });

      it('Prefer: respond-async answers 202 with Preference-Applied: respond-async', async () => {
        const p = await createProduct(platform, { stock: 1 });
        const r = await placeOrder(platform, alice, [{ productId: p.id, quantity: 1 }], {
          headers: { prefer: 'wait=5, respond-async' },
        });
        expect(r.status).to.equal(202);
        expect(r.headers.get('preference-applied')).to.equal('respond-async');
        expect(r.headers.get('location')).to.equal(`/api/v1/orders/${r.body.id}`);
        expect((await settled(platform, alice, r.body.id)).status).to.equal('CONFIRMED');
        expect(await stockOf(platform, p.id)).to.equal(0);
      });

      it('?mode=sync wins over Prefer: respond-async, and no preference is reported as applied', async () => {
        const p = await createProduct(platform, { stock: 1 });
        const r = await placeOrder(platform, alice, [{ productId: p.id, quantity: 1 }], {
          query: '?mode=sync',
          headers: { prefer: 'respond-async' },
        });
        expect(r.status).to.equal(201);
        expect(r.body.status).to.equal('CONFIRMED');
        expect(r.headers.get('preference-applied')).to.equal(null);
      });

      it('refuses an unknown mode with 400 and records nothing', async () => {
        const p = await createProduct(platform, { stock: 1 });
        const before = (await listAllOrders(platform, admin)).length;
        const r = await placeOrder(platform, alice, [{ productId: p.id, quantity: 1 }], { query: '?mode=later' });
        expectProblem(r, 400, 'VALIDATION_FAILED');
        expect((await listAllOrders(platform, admin)).length).to.equal(before);
        expect(await stockOf(platform, p.id)).to.equal(1);
      });
    });

    describe('reading', () => {
      let mine: Order;
      before(async () => {
        const p = await createProduct(platform, { stock: 5 });
        mine = (await order(alice, [{ productId: p.id, quantity: 1 }])).final;
      });

      it('shows a customer their own order', async () => {
        const r = await getOrder(platform, alice, mine.id);
        expect(r.status).to.equal(200);
        expect(r.body).to.deep.equal(mine);
      });

      it("answers 404 for another customer's order, as for one that does not exist", async () => {
        expectProblem(await getOrder(platform, bob, mine.id), 404, 'ORDER_NOT_FOUND');
        expectProblem(await getOrder(platform, alice, absentId()), 404, 'ORDER_NOT_FOUND');
      });

      it('shows an admin any order', async () => {
        const r = await getOrder(platform, admin, mine.id);
        expect(r.status).to.equal(200);
        expect(r.body).to.deep.equal(mine);
      });

      it('answers 400 for a malformed id and 401 without a token', async () => {
        expectProblem(await getOrder(platform, alice, 'not-an-id'), 400);
        expectProblem(await call(platform.url, 'GET', `/api/v1/orders/${mine.id}`), 401);
        expectProblem(await call(platform.url, 'GET', '/api/v1/orders'), 401);
      });
    });

    describe('listing', () => {
      let dora: string;
      let eve: string;
      const doraOrders: Order[] = [];
      const eveOrders: Order[] = [];

      before(async () => {
        dora = tokens(platform).customer(freshCustomer('dora'));
        eve = tokens(platform).customer(freshCustomer('eve'));
        const p = await createProduct(platform, { stock: 4 });
        // Dora: 4 confirmed then 3 rejected (stock runs out); Eve: 2 rejected.
        for (let i = 0; i < 7; i++) doraOrders.push((await order(dora, [{ productId: p.id, quantity: 1 }])).final);
        for (let i = 0; i < 2; i++) eveOrders.push((await order(eve, [{ productId: p.id, quantity: 1 }])).final);
      });

      type OrderPage = { items: Order[]; nextCursor: string | null };
      const page = (token: string, query: string) =>
        call<OrderPage>(platform.url, 'GET', `/api/v1/orders${query}`, {
          token,
        });

      it("lists only the caller's own orders", async () => {
        const r = await page(dora, '');
        expect(r.status).to.equal(200);
        expect(r.body.items.map((o) => o.id)).to.deep.equal(doraOrders.map((o) => o.id));
        expect(r.body.nextCursor).to.equal(null);
        const e = await page(eve, '');
        expect(e.body.items.map((o) => o.id)).to.deep.equal(eveOrders.map((o) => o.id));
      });

      it('filters by status', async () => {
        expect(doraOrders.map((o) => o.status)).to.deep.equal([
          'CONFIRMED',
          'CONFIRMED',
          'CONFIRMED',
          'CONFIRMED',
          'REJECTED',
          'REJECTED',
          'REJECTED',
        ]);
        const confirmed = await page(dora, '?status=CONFIRMED');
        expect(confirmed.body.items.map((o) => o.id)).to.deep.equal(doraOrders.slice(0, 4).map((o) => o.id));
        const rejected = await page(dora, '?status=REJECTED');
        expect(rejected.body.items.map((o) => o.id)).to.deep.equal(doraOrders.slice(4).map((o) => o.id));
        const cancelled = await page(dora, '?status=CANCELLED');
        expect(cancelled.body).to.deep.equal({ items: [], nextCursor: null });
        expectProblem(await page(dora, '?status=LOST'), 400);
      });

      it('pages with the cursor without overlap, ending with nextCursor null', async () => {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const r: HttpResult<OrderPage> = await page(dora, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
          expect(r.status).to.equal(200);
          seen.push(...r.body.items.map((o) => o.id));
          cursor = r.body.nextCursor;
          pages++;
        } while (cursor && pages < 10);
        expect(pages).to.equal(3);
        expect(seen).to.deep.equal(doraOrders.map((o) => o.id));
      });

      it("lists everyone's orders for an admin", async () => {
        const all = (await listAllOrders(platform, admin)).map((o) => o.id);
        expect(all).to.include.members([...doraOrders, ...eveOrders].map((o) => o.id));
        expect(all.length).to.be.greaterThan(doraOrders.length + eveOrders.length);
        const rejected = await listAllOrders(platform, admin, '&status=REJECTED');
        expect(rejected.every((o) => o.status === 'REJECTED')).to.equal(true);
        expect(rejected.map((o) => o.id)).to.include.members(eveOrders.map((o) => o.id));
      });

      it('refuses a bad limit or cursor with 400', async () => {
        for (const q of ['?limit=0', '?limit=101', '?limit=x', '?cursor=abc', '?customerId=x']) {
          expectProblem(await page(dora, q), 400);
        }
      });
    });

    describe('cancelling', () => {
      const cancel = (token: string, id: string) =>
        call<Order>(platform.url, 'POST', `/api/v1/orders/${id}/cancel`, {
          token,
        });
      /** In sync mode the release is done when cancel answers; in async mode it follows from OrderCancelled. */
      const stockEventually = (productId: string, expected: number) =>
        eventually(async () => ((await stockOf(platform, productId)) === expected ? true : undefined), 10_000, 'stock');

      it('cancels a CONFIRMED order: 200 CANCELLED, and its stock comes back', async () => {
        const a = await createProduct(platform, { stock: 5 });
        const b = await createProduct(platform, { stock: 2 });
        const { final } = await order(alice, [
          { productId: a.id, quantity: 3 },
          { productId: b.id, quantity: 2 },
        ]);
        expect(final.status).to.equal('CONFIRMED');
        expect(await stocksOf(platform, [a.id, b.id])).to.deep.equal([2, 0]);
        const r = await cancel(alice, final.id);
        expect(r.status).to.equal(200);
        expect(r.body).to.include({ id: final.id, status: 'CANCELLED' });
        expect(r.body.items).to.deep.equal(final.items);
        if (mode === 'sync') expect(await stocksOf(platform, [a.id, b.id])).to.deep.equal([5, 2]);
        await stockEventually(a.id, 5);
        await stockEventually(b.id, 2);
        expect((await getOrder(platform, alice, final.id)).body.status).to.equal('CANCELLED');
      });

      it('refuses to cancel twice with 409 and releases nothing twice', async () => {
        const p = await createProduct(platform, { stock: 3 });
        const { final } = await order(alice, [{ productId: p.id, quantity: 2 }]);
        expect((await cancel(alice, final.id)).status).to.equal(200);
        await stockEventually(p.id, 3);
        expectProblem(await cancel(alice, final.id), 409, 'ILLEGAL_TRANSITION');
        await drainOutboxes(platform);
        expect(await stockOf(platform, p.id)).to.equal(3);
      });

      it('refuses to cancel a REJECTED order with 409', async () => {
        const p = await createProduct(platform, { stock: 1 });
        const { final } = await order(alice, [{ productId: p.id, quantity: 2 }]);
        expect(final.status).to.equal('REJECTED');
        expectProblem(await cancel(alice, final.id), 409, 'ILLEGAL_TRANSITION');
        expect((await getOrder(platform, alice, final.id)).body.status).to.equal('REJECTED');
        expect(await stockOf(platform, p.id)).to.equal(1);
      });

      it('refuses to cancel a PENDING order with 409; it still settles afterwards', async () => {
        const p = await createProduct(platform, { stock: 2 });
        // With the relays stopped, OrderPlaced stays in the outbox and the order stays PENDING.
        await Promise.all(platform.running.relays.map((r) => r.stop()));
        let placed: HttpResult<Order>;
        try {
          placed = await placeOrder(platform, alice, [{ productId: p.id, quantity: 2 }], { query: '?mode=async' });
          expect(placed.status).to.equal(202);
          expect(placed.body.status).to.equal('PENDING');
          expectProblem(await cancel(alice, placed.body.id), 409, 'ILLEGAL_TRANSITION');
          expect((await getOrder(platform, alice, placed.body.id)).body.status).to.equal('PENDING');
          expect(await stockOf(platform, p.id)).to.equal(2);
        } finally {
          for (const relay of platform.running.relays) relay.start();
        }
        expect((await settled(platform, alice, placed.body.id)).status).to.equal('CONFIRMED');
        expect(await stockOf(platform, p.id)).to.equal(0);
      });

      it("answers 404 for another customer's order and leaves it CONFIRMED", async () => {
        const p = await createProduct(platform, { stock: 1 });
        const { final } = await order(alice, [{ productId: p.id, quantity: 1 }]);
        expectProblem(await cancel(bob, final.id), 404, 'ORDER_NOT_FOUND');
        expectProblem(await cancel(alice, absentId()), 404, 'ORDER_NOT_FOUND');
        await drainOutboxes(platform);
        expect((await getOrder(platform, alice, final.id)).body.status).to.equal('CONFIRMED');
        expect(await stockOf(platform, p.id)).to.equal(0);
      });

      it('releases at once when the cancel asks for ?mode=sync', async () => {
        const p = await createProduct(platform, { stock: 3 });
        const { final } = await order(alice, [{ productId: p.id, quantity: 3 }]);
        expect(await stockOf(platform, p.id)).to.equal(0);
        const r = await call<Order>(platform.url, 'POST', `/api/v1/orders/${final.id}/cancel?mode=sync`, {
          token: alice,
        });
        expect(r.status).to.equal(200);
        expect(r.body.status).to.equal('CANCELLED');
        expect(await stockOf(platform, p.id)).to.equal(3);
        await drainOutboxes(platform);
        expect(await stockOf(platform, p.id)).to.equal(3);
      });

      it("lets an admin cancel a customer's order", async () => {
        const p = await createProduct(platform, { stock: 1 });
        const { final } = await order(alice, [{ productId: p.id, quantity: 1 }]);
        const r = await cancel(admin, final.id);
        expect(r.status).to.equal(200);
        expect(r.body.status).to.equal('CANCELLED');
        await stockEventually(p.id, 1);
      });

      it('refuses without a token with 401', async () => {
        const p = await createProduct(platform, { stock: 1 });
        const { final } = await order(alice, [{ productId: p.id, quantity: 1 }]);
        expectProblem(await call(platform.url, 'POST', `/api/v1/orders/${final.id}/cancel`), 401);
        expect((await getOrder(platform, alice, final.id)).body.status).to.equal('CONFIRMED');
      });
    });

    describe('Idempotency-Key', () => {
      it('answers a retry with the same key and body like the first time, reserving once', async () => {
        const p = await createProduct(platform, { stock: 5 });
        const key = `k-${absentId()}`;
        const items = [{ productId: p.id, quantity: 2 }];
        const first = await placeOrder(platform, alice, items, {
          headers: { 'idempotency-key': key },
        });
        const firstFinal = await finalOf(first, alice);
        expect(firstFinal.status).to.equal('CONFIRMED');
        const before = (await listAllOrders(platform, admin)).length;
        for (let i = 0; i < 3; i++) {
          const retry = await placeOrder(platform, alice, items, {
            headers: { 'idempotency-key': key },
          });
          expect(retry.status).to.equal(first.status);
          expect(retry.body.id).to.equal(first.body.id);
          expect(retry.headers.get('location')).to.equal(first.headers.get('location'));
          if (mode === 'sync') expect(retry.body).to.deep.equal(first.body);
        }
        await drainOutboxes(platform);
        expect(await stockOf(platform, p.id)).to.equal(3);
        expect((await listAllOrders(platform, admin)).length).to.equal(before);
      });

      it('answers concurrent retries with one order and reserves once', async () => {
        const p = await createProduct(platform, { stock: 5 });
        const key = `k-${absentId()}`;
        const items = [{ productId: p.id, quantity: 1 }];
        const results = await Promise.all(
          Array.from({ length: 6 }, () =>
            placeOrder(platform, bob, items, {
              headers: { 'idempotency-key': key },
            }),
          ),
        );
        expect(new Set(results.map((r) => r.status))).to.deep.equal(new Set([mode === 'sync' ? 201 : 202]));
        expect(new Set(results.map((r) => r.body.id)).size).to.equal(1);
        expect((await settled(platform, bob, results[0]!.body.id)).status).to.equal('CONFIRMED');
        await drainOutboxes(platform);
        expect(await stockOf(platform, p.id)).to.equal(4);
      });

      it('refuses the same key with another body with 422 and reserves nothing for it', async () => {
        const p = await createProduct(platform, { stock: 5 });
        const key = `k-${absentId()}`;
        const first = await placeOrder(platform, alice, [{ productId: p.id, quantity: 1 }], {
          headers: { 'idempotency-key': key },
        });
        await finalOf(first, alice);
        const before = (await listAllOrders(platform, admin)).length;
        const other = await placeOrder(platform, alice, [{ productId: p.id, quantity: 2 }], {
          headers: { 'idempotency-key': key },
        });
        expectProblem(other, 422, 'IDEMPOTENCY_KEY_REUSED');
        await drainOutboxes(platform);
        expect(await stockOf(platform, p.id)).to.equal(4);
        expect((await listAllOrders(platform, admin)).length).to.equal(before);
      });

      it('keeps keys per customer: the same key from another customer is a new order', async () => {
        const p = await createProduct(platform, { stock: 5 });
        const key = `k-${absentId()}`;
        const items = [{ productId: p.id, quantity: 1 }];
        const a = await placeOrder(platform, alice, items, {
          headers: { 'idempotency-key': key },
        });
        const b = await placeOrder(platform, bob, items, {
          headers: { 'idempotency-key': key },
        });
        expect(b.body.id).to.not.equal(a.body.id);
        expect((await finalOf(a, alice)).status).to.equal('CONFIRMED');
        expect((await finalOf(b, bob)).status).to.equal('CONFIRMED');
        expect(await stockOf(platform, p.id)).to.equal(3);
      });

      it('refuses a malformed key with 400', async () => {
        const p = await createProduct(platform, { stock: 5 });
        const items = [{ productId: p.id, quantity: 1 }];
        for (const key of ['x'.repeat(256), 'with space']) {
          expectProblem(
            await placeOrder(platform, alice, items, {
              headers: { 'idempotency-key': key },
            }),
            400,
          );
        }
        await drainOutboxes(platform);
        expect(await stockOf(platform, p.id)).to.equal(5);
      });
    });
  });
}
