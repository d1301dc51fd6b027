import { expect } from 'chai';
import { call, type HttpResult } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import {
  createProduct,
  drainOutboxes,
  expectProblem,
  type Item,
  type Order,
  placeOrder,
  type Product,
  settled,
  stockOf,
  stocksOf,
  TEST_SETTINGS,
  tokens,
  uniqueSku,
} from '../support/shop.ts';

for (const mode of ['sync', 'async'] as const) {
  describe(`concurrency (--mode ${mode})`, () => {
    let platform: TestPlatform;
    let customers: string[];
    let admin: string;

    before(async () => {
      platform = await startMonolith({ ...TEST_SETTINGS, mode });
      admin = tokens(platform).admin;
      customers = ['c1', 'c2', 'c3', 'c4'].map((id) => tokens(platform).customer(`${id}-${mode}`));
    });
    after(() => platform.dispose());

    const expectedStatus = (query = '') =>
      query.includes('mode=async') ? 202 : query.includes('mode=sync') ? 201 : mode === 'sync' ? 201 : 202;

    /** Fires all orders at once; returns each order in its final state, with the customer token that placed it. */
    async function burst(requests: { items: Item[]; query?: string }[]) {
      const placed = await Promise.all(
        requests.map(async (req, i) => {
          const token = customers[i % customers.length]!;
          const r: HttpResult<Order> = await placeOrder(platform, token, req.items, { query: req.query ?? '' });
          expect(r.status, JSON.stringify(r.body)).to.equal(expectedStatus(req.query));
          return { token, r };
        }),
      );
      const final = await Promise.all(placed.map(({ token, r }) => settled(platform, token, r.body.id, 20_000)));
      await drainOutboxes(platform);
      return final;
    }

    const quantity = (orders: Order[], productId: string) =>
      orders.flatMap((o) => o.items).reduce((sum, i) => (i.productId === productId ? sum + i.quantity : sum), 0);

    it('40 concurrent orders of 1 for a stock of 5: exactly 5 confirmed, the rest INSUFFICIENT_STOCK', async () => {
      const p = await createProduct(platform, { stock: 5 });
      const orders = await burst(
        Array.from({ length: 40 }, () => ({
          items: [{ productId: p.id, quantity: 1 }],
        })),
      );
      const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
      const rejected = orders.filter((o) => o.status === 'REJECTED');
      expect(confirmed).to.have.length(5);
      expect(rejected).to.have.length(35);
      expect(rejected.every((o) => o.rejectionReason === 'INSUFFICIENT_STOCK')).to.equal(true);
      expect(await stockOf(platform, p.id)).to.equal(0);
      expect(quantity(confirmed, p.id)).to.equal(5);
      expect(new Set(orders.map((o) => o.id)).size).to.equal(40);
      // The confirmed orders are spread over the customers who placed them; each is visible to its owner only.
      const owners = new Set(confirmed.map((o) => o.customerId));
      expect([...owners].every((c) => /^c[1-4]-/.test(c))).to.equal(true);
    });

    it('two concurrent orders for the last unit: exactly one is confirmed', async () => {
      for (let round = 0; round < 5; round++) {
        const p = await createProduct(platform, { stock: 1 });
        const orders = await burst([
          { items: [{ productId: p.id, quantity: 1 }] },
          { items: [{ productId: p.id, quantity: 1 }] },
        ]);
        expect(orders.map((o) => o.status).sort()).to.deep.equal(['CONFIRMED', 'REJECTED']);
        expect(orders.find((o) => o.status === 'REJECTED')!.rejectionReason).to.equal('INSUFFICIENT_STOCK');
        expect(await stockOf(platform, p.id)).to.equal(0);
      }
    });

    it('sync and async requests racing for one product never oversell', async () => {
      const p = await createProduct(platform, { stock: 6 });
      const orders = await burst(
        Array.from({ length: 30 }, (_, i) => ({
          items: [{ productId: p.id, quantity: 1 }],
          query: i % 2 === 0 ? '?mode=sync' : '?mode=async',
        })),
      );
      expect(orders.filter((o) => o.status === 'CONFIRMED')).to.have.length(6);
      expect(await stockOf(platform, p.id)).to.equal(0);
    });

    it('concurrent multi-item orders are all-or-nothing: stock taken equals confirmed quantities', async () => {
      const a = await createProduct(platform, { stock: 6 });
      const b = await createProduct(platform, { stock: 4 });
      const orders = await burst(
        Array.from({ length: 20 }, (_, i) => ({
          // Alternate the item order so reservations take their row locks in both orders.
          items:
            i % 2 === 0
              ? [
                  { productId: a.id, quantity: 1 },
                  { productId: b.id, quantity: 1 },
                ]
              : [
                  { productId: b.id, quantity: 1 },
                  { productId: a.id, quantity: 1 },
                ],
        })),
      );
      const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
      expect(confirmed).to.have.length(4);
      expect(await stocksOf(platform, [a.id, b.id])).to.deep.equal([2, 0]);
      expect(quantity(confirmed, a.id)).to.equal(4);
      expect(quantity(confirmed, b.id)).to.equal(4);
    });

    it('varied quantities: stock taken equals the confirmed quantities and every rejection was a real shortfall', async () => {
      const p = await createProduct(platform, { stock: 20 });
      const orders = await burst(
        Array.from({ length: 30 }, (_, i) => ({
          items: [{ productId: p.id, quantity: (i % 3) + 1 }],
        })),
      );
      const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
      const rejected = orders.filter((o) => o.status === 'REJECTED');
      const left = await stockOf(platform, p.id);
      expect(left).to.be.at.least(0);
      expect(quantity(confirmed, p.id)).to.equal(20 - left);
      expect(confirmed.length + rejected.length).to.equal(30);
      // Stock only went down, so each rejected order asked for more than what is left even now.
      for (const o of rejected) {
        expect(o.rejectionReason).to.equal('INSUFFICIENT_STOCK');
        expect(o.items[0]!.quantity).to.be.greaterThan(left);
      }
    });

    it('concurrent double cancels: one 200 and one 409 per order, and the stock comes back once', async () => {
      const p = await createProduct(platform, { stock: 4 });
      const orders = await burst(
        Array.from({ length: 4 }, () => ({
          items: [{ productId: p.id, quantity: 1 }],
        })),
      );
      expect(orders.every((o) => o.status === 'CONFIRMED')).to.equal(true);
      expect(await stockOf(platform, p.id)).to.equal(0);
      const cancels = await Promise.all(
        orders.flatMap((o) => [
          call<Order>(platform.url, 'POST', `/api/v1/orders/${o.id}/cancel`, {
            token: admin,
          }),
          call<Order>(platform.url, 'POST', `/api/v1/orders/${o.id}/cancel`, {
            token: admin,
          }),
        ]),
      );
      for (let i = 0; i < orders.length; i++) {
        const pair = [cancels[2 * i]!.status, cancels[2 * i + 1]!.status].sort();
        expect(pair).to.deep.equal([200, 409]);
      }
      await drainOutboxes(platform);
      expect(await stockOf(platform, p.id)).to.equal(4);
    });
  });
}

describe('concurrency (product writes)', () => {
  let platform: TestPlatform;
  let admin: string;

  before(async () => {
    platform = await startMonolith({ ...TEST_SETTINGS });
    admin = tokens(platform).admin;
  });
  after(() => platform.dispose());

  it('10 concurrent creations with one sku: exactly one 201, the rest 409', async () => {
    const sku = uniqueSku('RACE');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call<Product>(platform.url, 'POST', '/api/v1/products', {
          token: admin,
          body: { sku, name: `Racer ${i}`, priceCents: 100, currency: 'EUR', stock: 1 },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).to.deep.equal([201, ...Array(9).fill(409)]);
    for (const r of results.filter((x) => x.status === 409)) expectProblem(r, 409, 'SKU_TAKEN');
    const found = await call<{ items: Product[] }>(platform.url, 'GET', `/api/v1/products?q=${sku}`);
    expect(found.body.items).to.have.length(1);
  });

  it('10 concurrent PATCHes with the same If-Match: exactly one 200, the rest 412', async () => {
    const p = await createProduct(platform, { stock: 1 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call<Product>(platform.url, 'PATCH', `/api/v1/products/${p.id}`, {
          token: admin,
          body: { name: `Winner ${i}` },
          headers: { 'if-match': `"${p.version}"` },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).to.deep.equal([200, ...Array(9).fill(412)]);
    const winner = results.find((r) => r.status === 200)!;
    const now = await call<Product>(platform.url, 'GET', `/api/v1/products/${p.id}`);
    expect(now.body.version).to.equal(p.version + 1);
    expect(now.body.name).to.equal(winner.body.name);
  });

  it('PATCHes without If-Match racing with orders all apply', async () => {
    const p = await createProduct(platform, { stock: 100, priceCents: 100 });
    const customer = tokens(platform).customer('racer');
    const patches = Array.from({ length: 5 }, (_, i) =>
      call<Product>(platform.url, 'PATCH', `/api/v1/products/${p.id}`, {
        token: admin,
        body: { description: `edit ${i}` },
      }),
    );
    const orders = Array.from({ length: 10 }, () => placeOrder(platform, customer, [{ productId: p.id, quantity: 1 }]));
    const [patched, placed] = await Promise.all([Promise.all(patches), Promise.all(orders)]);
    expect(patched.map((r) => r.status)).to.deep.equal(Array(5).fill(200));
    expect(placed.map((r) => r.body.status)).to.deep.equal(Array(10).fill('CONFIRMED'));
    expect(await stockOf(platform, p.id)).to.equal(90);
  });
});
