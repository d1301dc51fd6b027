import { expect } from 'chai';
import { call, eventually } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';

describe('monolith smoke', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startMonolith();
  });
  after(() => platform.dispose());

  it('creates a product, sees it in the order replica, and confirms a sync order', async () => {
    const admin = platform.token({ id: 'root', role: 'admin' });
    const alice = platform.token({ id: 'alice', role: 'customer' });
    const created = await call(platform.url, 'POST', '/api/v1/products', {
      token: admin,
      body: { sku: 'SMOKE-1', name: 'Smoke', priceCents: 250, currency: 'EUR', stock: 2 },
    });
    expect(created.status).to.equal(201);
    const productId = created.body.id;
    const order = await eventually(async () => {
      const r = await call(platform.url, 'POST', '/api/v1/orders', {
        token: alice,
        body: { items: [{ productId, quantity: 2 }] },
      });
      return r.body.rejectionReason === 'UNKNOWN_PRODUCT' ? undefined : r;
    });
    expect(order.status).to.equal(201);
    expect(order.body.status).to.equal('CONFIRMED');
    expect(order.body.totalCents).to.equal(500);
    const product = await call(platform.url, 'GET', `/api/v1/products/${productId}`);
    expect(product.body.stock).to.equal(0);
  });
});
