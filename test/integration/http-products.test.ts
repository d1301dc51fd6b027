import { expect } from 'chai';
import { call, rawRequest } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import {
  absentId,
  createProduct,
  expectProblem,
  type Product,
  TEST_SETTINGS,
  tokens,
  uniqueSku,
} from '../support/shop.ts';

type Page = { items: Product[]; nextCursor: string | null };

describe('HTTP products', () => {
  let platform: TestPlatform;
  let admin: string;
  let customer: string;
  /** Every product this suite created through the API, in creation order. */
  const seeded: Product[] = [];
  const tag = `P${Date.now().toString(36)}`;

  before(async () => {
    platform = await startMonolith({ ...TEST_SETTINGS });
    admin = tokens(platform).admin;
    customer = tokens(platform).customer('carol');
    for (let i = 0; i < 25; i++) {
      seeded.push(
        await createProduct(platform, {
          sku: uniqueSku(tag),
          name: `Item ${tag} ${i}`,
        }),
      );
    }
  });
  after(() => platform.dispose());

  const url = () => platform.url;
  const list = (query = '') => call<Page>(url(), 'GET', `/api/v1/products${query}`);
  const newProduct = (overrides: Record<string, unknown> = {}) => ({
    sku: uniqueSku(),
    name: 'Gadget',
    description: 'A thing',
    priceCents: 999,
    currency: 'EUR',
    stock: 3,
    ...overrides,
  });
  const productCount = async () => {
    let n = 0;
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof list>> = await list(`?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      n += page.body.items.length;
      cursor = page.body.nextCursor;
    } while (cursor);
    return n;
  };

  describe('GET /api/v1/products', () => {
    it('is public and returns 20 items by default with a cursor to more', async () => {
      const r = await list();
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^application\/json/);
      expect(r.body.items).to.have.length(20);
      expect(r.body.nextCursor).to.be.a('string');
      for (const p of r.body.items) {
        expect(p).to.have.all.keys(
          'id',
          'sku',
          'name',
          'description',
          'priceCents',
          'currency',
          'stock',
          'version',
          'createdAt',
          'updatedAt',
        );
      }
    });

    for (const limit of [1, 7, 100]) {
      it(`honours limit=${limit}`, async () => {
        const total = await productCount();
        const r = await list(`?limit=${limit}`);
        expect(r.status).to.equal(200);
        expect(r.body.items).to.have.length(Math.min(limit, total));
        expect(r.body.nextCursor === null).to.equal(total <= limit);
      });
    }

    for (const limit of ['0', '101', '10000', 'abc', '-1', '1.5', '']) {
      it(`refuses limit=${JSON.stringify(limit)} with 400`, async () => {
        expectProblem(await list(`?limit=${limit}`), 400, 'VALIDATION_FAILED');
      });
    }

    it('refuses a malformed cursor and unknown query parameters with 400', async () => {
      expectProblem(await list('?cursor=not-a-uuid'), 400, 'VALIDATION_FAILED');
      expectProblem(await list('?sort=price'), 400, 'VALIDATION_FAILED');
    });

    it('pages with the cursor without overlap or gaps, and ends with nextCursor null', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Awaited<ReturnType<typeof list>> = await list(`?q=${tag}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status).to.equal(200);
        expect(r.body.items.length).to.be.at.most(7);
        seen.push(...r.body.items.map((p) => p.id));
        cursor = r.body.nextCursor;
        pages++;
        expect(pages).to.be.below(10);
      } while (cursor);
      expect(pages).to.equal(4); // 7 + 7 + 7 + 4
      expect(new Set(seen).size).to.equal(seen.length);
      expect(seen).to.have.members(seeded.map((p) => p.id));
    });

    it('returns nextCursor null when the last page is exactly full', async () => {
      const first = await list(`?q=${tag}&limit=20`);
      const last = await list(`?q=${tag}&limit=5&cursor=${first.body.nextCursor}`);
      expect(last.status).to.equal(200);
      expect(last.body.items).to.have.length(5);
      expect(last.body.nextCursor).to.equal(null);
    });

    it('searches name and sku with q, case-insensitively', async () => {
      const target = seeded[3]!;
      const byName = await list(`?q=${encodeURIComponent(`item ${tag.toLowerCase()} 3`)}`);
      expect(byName.status).to.equal(200);
      expect(byName.body.items.map((p) => p.id)).to.deep.equal([target.id]);
      const bySku = await list(`?q=${encodeURIComponent(target.sku.toLowerCase())}`);
      expect(bySku.body.items.map((p) => p.id)).to.deep.equal([target.id]);
      const none = await list(`?q=${encodeURIComponent('no such thing %_')}`);
      expect(none.status).to.equal(200);
      expect(none.body).to.deep.equal({ items: [], nextCursor: null });
    });
  });

  describe('GET /api/v1/products/:id', () => {
    it('returns the product with an ETag, without a token', async () => {
      const p = seeded[0]!;
      const r = await call<Product>(url(), 'GET', `/api/v1/products/${p.id}`);
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal(p);
      expect(r.headers.get('etag')).to.equal(`"${p.version}"`);
    });

    it('answers a read served from the cache as the first one, byte for byte, as res.json would', async () => {
      const p = seeded[1]!;
      const path = `/api/v1/products/${p.id}`;
      const first = await rawRequest(url(), [`GET ${path} HTTP/1.1`, 'host: x']);
      const again = await rawRequest(url(), [`GET ${path} HTTP/1.1`, 'host: x']);
      for (const r of [first, again]) {
        expect(r.status).to.equal(200);
        expect(r.body).to.deep.equal(p);
        expect(r.headers.get('content-type')).to.equal('application/json; charset=utf-8');
        expect(r.headers.get('content-length')).to.equal(String(Buffer.byteLength(JSON.stringify(p))));
        expect(r.headers.get('etag')).to.equal(`"${p.version}"`);
      }
    });

    it('answers a conditional read with 304 and no body while the ETag matches, and HEAD without a body', async () => {
      const p = seeded[2]!;
      const path = `/api/v1/products/${p.id}`;
      const fresh = await rawRequest(url(), [`GET ${path} HTTP/1.1`, 'host: x', `if-none-match: "${p.version}"`]);
      expect(fresh.status).to.equal(304);
      expect(fresh.body).to.equal(undefined);
      expect(fresh.headers.get('etag')).to.equal(`"${p.version}"`);
      expect(fresh.headers.get('content-type')).to.equal(null);
      const stale = await call<Product>(url(), 'GET', path, { headers: { 'if-none-match': '"999"' } });
      expect(stale.status).to.equal(200);
      expect(stale.body).to.deep.equal(p);
      const head = await rawRequest(url(), [`HEAD ${path} HTTP/1.1`, 'host: x']);
      expect(head.status).to.equal(200);
      expect(head.body).to.equal(undefined);
      expect(head.headers.get('content-length')).to.equal(String(Buffer.byteLength(JSON.stringify(p))));
    });

    it('refuses a query string, and reads the id in any case', async () => {
      const p = seeded[3]!;
      expectProblem(await call(url(), 'GET', `/api/v1/products/${p.id}?mode=x`), 400, 'VALIDATION_FAILED');
      const upper = await call<Product>(url(), 'GET', `/api/v1/products/${p.id.toUpperCase()}`);
      expect(upper.status).to.equal(200);
      expect(upper.body).to.deep.equal(p);
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      expectProblem(await call(url(), 'GET', `/api/v1/products/${absentId()}`), 404, 'PRODUCT_NOT_FOUND');
      expectProblem(await call(url(), 'GET', '/api/v1/products/12345'), 400);
      expectProblem(await call(url(), 'GET', `/api/v1/products/${absentId()}x`), 400);
    });
  });

  describe('POST /api/v1/products', () => {
    it('creates as admin: 201, Location and the product', async () => {
      const body = newProduct();
      const r = await call<Product>(url(), 'POST', '/api/v1/products', {
        token: admin,
        body,
      });
      expect(r.status).to.equal(201);
      expect(r.body).to.include(body);
      expect(r.body.version).to.equal(1);
      expect(r.body.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(Date.parse(r.body.createdAt)).to.be.a('number').and.not.be.NaN;
      expect(r.headers.get('location')).to.equal(`/api/v1/products/${r.body.id}`);
      const fetched = await call<Product>(url(), 'GET', r.headers.get('location')!);
      expect(fetched.status).to.equal(200);
      expect(fetched.body).to.deep.equal(r.body);
    });

    it('defaults description to an empty string', async () => {
      const { description: _d, ...body } = newProduct();
      const r = await call<Product>(url(), 'POST', '/api/v1/products', {
        token: admin,
        body,
      });
      expect(r.status).to.equal(201);
      expect(r.body.description).to.equal('');
    });

    it('refuses a customer with 403 and no token with 401, creating nothing', async () => {
      const before = await productCount();
      const body = newProduct();
      expectProblem(
        await call(url(), 'POST', '/api/v1/products', {
          token: customer,
          body,
        }),
        403,
        'FORBIDDEN',
      );
      const anonymous = await call(url(), 'POST', '/api/v1/products', { body });
      expectProblem(anonymous, 401);
      expect(anonymous.headers.get('www-authenticate')).to.match(/^Bearer/);
      expect(await productCount()).to.equal(before);
      const search = await list(`?q=${body.sku}`);
      expect(search.body.items).to.deep.equal([]);
    });

    it('refuses a duplicate sku with 409', async () => {
      const before = await productCount();
      const r = await call(url(), 'POST', '/api/v1/products', {
        token: admin,
        body: newProduct({ sku: seeded[1]!.sku, name: 'Impostor' }),
      });
      expectProblem(r, 409, 'SKU_TAKEN');
      expect(await productCount()).to.equal(before);
      const original = await call<Product>(url(), 'GET', `/api/v1/products/${seeded[1]!.id}`);
      expect(original.body.name).to.equal(seeded[1]!.name);
    });

    const invalid: [string, Record<string, unknown>][] = [
      ['an unknown field', { color: 'red' }],
      ['an id (server-assigned)', { id: absentId() }],
      ['a negative price', { priceCents: -1 }],
      ['a fractional price', { priceCents: 9.99 }],
      ['a huge price', { priceCents: 1e15 }],
      ['a price as a string', { priceCents: '999' }],
      ['a negative stock', { stock: -1 }],
      ['a fractional stock', { stock: 1.5 }],
      ['a huge stock', { stock: 1e12 }],
      ['a lowercase currency', { currency: 'eur' }],
      ['a four-letter currency', { currency: 'EURO' }],
      ['a currency that is not ISO 4217', { currency: 'ABC' }],
      ['an empty name', { name: '   ' }],
      ['a sku with spaces', { sku: 'has space' }],
      ['a missing sku', { sku: undefined }],
    ];
    for (const [what, overrides] of invalid) {
      it(`refuses ${what} with 400 and creates nothing`, async () => {
        const before = await productCount();
        const body = newProduct(overrides);
        expectProblem(await call(url(), 'POST', '/api/v1/products', { token: admin, body }), 400);
        expect(await productCount()).to.equal(before);
      });
    }
  });

  describe('PATCH /api/v1/products/:id', () => {
    let product: Product;
    const patch = (body: unknown, headers: Record<string, string> = {}) =>
      call<Product>(url(), 'PATCH', `/api/v1/products/${product.id}`, {
        token: admin,
        body,
        headers,
      });
    const current = async () => (await call<Product>(url(), 'GET', `/api/v1/products/${product.id}`)).body;

    beforeEach(async () => {
      product = await createProduct(platform, {
        name: 'Before',
        stock: 4,
        priceCents: 100,
      });
    });

    it('applies a change with the current If-Match: 200, version + 1', async () => {
      const r = await patch({ name: 'After', priceCents: 150 }, { 'if-match': `"${product.version}"` });
      expect(r.status).to.equal(200);
      expect(r.body).to.include({
        id: product.id,
        name: 'After',
        priceCents: 150,
        stock: 4,
        version: 2,
      });
      expect(r.headers.get('etag')).to.equal('"2"');
      expect(await current()).to.deep.equal(r.body);
    });

    it('refuses a stale If-Match with 412 and changes nothing', async () => {
      expect((await patch({ name: 'First' }, { 'if-match': '"1"' })).status).to.equal(200);
      const stale = await patch({ name: 'Second', stock: 99 }, { 'if-match': '"1"' });
      expectProblem(stale, 412, 'STALE_VERSION');
      const now = await current();
      expect(now).to.include({ name: 'First', stock: 4, version: 2 });
    });

    it('applies a change without If-Match: 200', async () => {
      const r = await patch({ stock: 12, description: 'restocked' });
      expect(r.status).to.equal(200);
      expect(r.body).to.include({
        stock: 12,
        description: 'restocked',
        version: 2,
      });
    });

    it('refuses unknown or read-only fields, bad values and an empty patch with 400', async () => {
      for (const body of [{ sku: 'NEW' }, { currency: 'USD' }, { stock: -1 }, { priceCents: 0.5 }, {}, { color: 1 }]) {
        expectProblem(await patch(body), 400);
      }
      expectProblem(await patch({ name: 'x' }, { 'if-match': 'banana' }), 400);
      expect(await current()).to.deep.equal(product);
    });

    it('refuses a customer with 403 and answers 404 for an unknown product', async () => {
      const r = await call(url(), 'PATCH', `/api/v1/products/${product.id}`, {
        token: customer,
        body: { name: 'x' },
      });
      expectProblem(r, 403);
      const unknown = await call(url(), 'PATCH', `/api/v1/products/${absentId()}`, {
        token: admin,
        body: { name: 'x' },
      });
      expectProblem(unknown, 404, 'PRODUCT_NOT_FOUND');
      expect(await current()).to.deep.equal(product);
    });
  });

  describe('DELETE /api/v1/products/:id', () => {
    it('deletes as admin: 204, then 404', async () => {
      const product = await createProduct(platform);
      expectProblem(
        await call(url(), 'DELETE', `/api/v1/products/${product.id}`, {
          token: customer,
        }),
        403,
      );
      expectProblem(await call(url(), 'DELETE', `/api/v1/products/${product.id}`), 401);
      expect((await call(url(), 'GET', `/api/v1/products/${product.id}`)).status).to.equal(200);

      const r = await call(url(), 'DELETE', `/api/v1/products/${product.id}`, {
        token: admin,
      });
      expect(r.status).to.equal(204);
      expect(r.body).to.equal(undefined);
      expectProblem(await call(url(), 'GET', `/api/v1/products/${product.id}`), 404, 'PRODUCT_NOT_FOUND');
      expectProblem(
        await call(url(), 'DELETE', `/api/v1/products/${product.id}`, {
          token: admin,
        }),
        404,
      );
    });

    it('frees the sku of a deleted product', async () => {
      const product = await createProduct(platform);
      expect(
        (
          await call(url(), 'DELETE', `/api/v1/products/${product.id}`, {
            token: admin,
          })
        ).status,
      ).to.equal(204);
      const again = await call<Product>(url(), 'POST', '/api/v1/products', {
        token: admin,
        body: newProduct({ sku: product.sku }),
      });
      expect(again.status).to.equal(201);
      expect(again.body.id).to.not.equal(product.id);
    });
  });
});
