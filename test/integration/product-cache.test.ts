import { expect } from 'chai';
import { call } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import { createProduct, placeOrder, type Product, TEST_SETTINGS, tokens } from '../support/shop.ts';

/**
 * The product cache in the monolith (SQLite, in-process bus, no Redis: one in-process tier, one instance).
 * Every change is made by this instance, so a read after the change's response is never stale.
 */
describe('the product cache in the monolith (in-process tier, in-process bus)', () => {
  let platform: TestPlatform;

  before(async () => {
    platform = await startMonolith({ ...TEST_SETTINGS, mode: 'sync' });
  });
  after(() => platform?.stop());

  const read = (id: string) => call<Product>(platform.url, 'GET', `/api/v1/products/${id}`);
  const localHits = async () => {
    const text = (await call<string>(platform.url, 'GET', '/metrics')).body;
    const line = text.split('\n').find((l) => /^cache_requests_total\{.*tier="local".*result="hit"/.test(l));
    return Number(line?.split(' ').at(-1) ?? 0);
  };

  it('answers from the cache, and answers every change at once: update, stock reservation, delete', async () => {
    const { admin, customer } = tokens(platform);
    const product = await createProduct(platform, { stock: 10 });
    const before = await localHits();
    for (let i = 0; i < 3; i++) expect((await read(product.id)).body).to.deep.include({ version: 1 });
    expect(await localHits()).to.be.at.least(before + 2);

    const patched = await call<Product>(platform.url, 'PATCH', `/api/v1/products/${product.id}`, {
      token: admin,
      body: { name: 'Renamed' },
    });
    expect(patched.status).to.equal(200);
    expect((await read(product.id)).body).to.deep.include({ name: 'Renamed', version: 2 });

    const order = await placeOrder(platform, customer('cache-1'), [{ productId: product.id, quantity: 4 }]);
    expect(order.body.status).to.equal('CONFIRMED');
    expect((await read(product.id)).body).to.deep.include({ stock: 6, version: 3 });

    expect((await call(platform.url, 'DELETE', `/api/v1/products/${product.id}`, { token: admin })).status).to.equal(
      204,
    );
    expect((await read(product.id)).status).to.equal(404);
  });

  it('answers 50 concurrent reads of a product nobody read yet with the same document', async () => {
    const product = await createProduct(platform);
    const reads = await Promise.all(Array.from({ length: 50 }, () => read(product.id)));
    expect(new Set(reads.map((r) => JSON.stringify(r.body))).size).to.equal(1);
    expect(reads.every((r) => r.status === 200 && r.headers.get('etag') === '"1"')).to.equal(true);
  });
});
