import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { jwtSettings } from '../../src/bootstrap/signing-key.ts';
import { call, rawRequest, type RequestOptions } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import {
  absentId,
  createProduct,
  drainOutboxes,
  expectProblem,
  listAllOrders,
  type Product,
  stockOf,
  TEST_SETTINGS,
  tokens,
} from '../support/shop.ts';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('HTTP edge', () => {
  let platform: TestPlatform;
  let admin: string;
  let alice: string;
  let product: Product;
  let other: Product;

  before(async () => {
    platform = await startMonolith({ ...TEST_SETTINGS });
    admin = tokens(platform).admin;
    alice = tokens(platform).customer('alice-edge');
    product = await createProduct(platform, { stock: 5 });
    other = await createProduct(platform, { stock: 7 });
    // One confirmed order, so "nothing changed" also covers existing orders.
    const seed = await call(platform.url, 'POST', '/api/v1/orders', {
      token: alice,
      body: { items: [{ productId: other.id, quantity: 1 }] },
    });
    expect(seed.body.status).to.equal('CONFIRMED');
  });
  after(() => platform.dispose());

  /** What a rejected request must leave as it was. */
  async function snapshot() {
    await drainOutboxes(platform);
    const orders = await listAllOrders(platform, admin);
    const products = await call<{ items: Product[] }>(platform.url, 'GET', '/api/v1/products?limit=100');
    return {
      stock: [await stockOf(platform, product.id), await stockOf(platform, other.id)],
      orders: orders.map((o) => `${o.id}:${o.status}`),
      products: products.body.items.map((p) => `${p.id}:${p.version}:${p.stock}`),
    };
  }

  /** Sends a request that must be refused with `status`, and checks that nothing changed and nothing leaked. */
  async function refused(method: string, path: string, options: RequestOptions, status: number, code?: string) {
    const before = await snapshot();
    const r = await call(platform.url, method, path, options);
    expectProblem(r, status, code);
    expect(JSON.stringify(r.body)).to.not.match(/at \w+ \(|node_modules|\.ts:\d+/); // no stack traces
    expect(await snapshot()).to.deep.equal(before);
    expect(Object.prototype).to.not.have.property('polluted');
    expect(Object.prototype).to.not.have.property('role');
    return r;
  }

  const orderWith = (body: unknown, token = alice) => ({ token, body });
  const rawOrder = (rawBody: string, contentType = 'application/json') => ({
    token: alice,
    rawBody,
    headers: { 'content-type': contentType },
  });

  describe('request bodies', () => {
    it('refuses malformed JSON with 400', async () => {
      await refused('POST', '/api/v1/orders', rawOrder('{"items": [ {"productId": '), 400, 'MALFORMED_JSON');
      await refused('POST', '/api/v1/orders', rawOrder("{'items': []}"), 400, 'MALFORMED_JSON');
      await refused('POST', '/api/v1/products', { ...rawOrder('{"sku":'), token: admin }, 400, 'MALFORMED_JSON');
    });

    it('refuses JSON that is not an object with 400', async () => {
      for (const raw of ['[]', '"items"', 'null', '42', 'true']) {
        await refused('POST', '/api/v1/orders', rawOrder(raw), 400);
      }
    });

    it('refuses bodies that are not JSON with 415', async () => {
      const json = JSON.stringify({
        items: [{ productId: product.id, quantity: 1 }],
      });
      await refused('POST', '/api/v1/orders', rawOrder(json, 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      await refused('POST', '/api/v1/orders', rawOrder('items=1', 'application/x-www-form-urlencoded'), 415);
      await refused('POST', '/api/v1/orders', rawOrder('<items/>', 'application/xml'), 415);
      await refused('POST', '/api/v1/orders', { token: alice, rawBody: json }, 415); // no Content-Type at all
      await refused(
        'POST',
        '/api/v1/products',
        {
          token: admin,
          rawBody: 'sku=X',
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
        },
        415,
      );
    });

    it('refuses a charset other than UTF-8 and an unknown Content-Encoding with 415', async () => {
      const json = JSON.stringify({ items: [{ productId: product.id, quantity: 1 }] });
      await refused('POST', '/api/v1/orders', rawOrder(json, 'application/json; charset=latin1'), 415);
      await refused(
        'POST',
        '/api/v1/orders',
        { ...rawOrder(json), headers: { 'content-type': 'application/json', 'content-encoding': 'compress' } },
        415,
      );
    });

    it('refuses a compressed body that inflates past 1 MiB with 413', async () => {
      const inflated = JSON.stringify({
        items: [{ productId: product.id, quantity: 1 }],
        padding: ' '.repeat(2 << 20),
      });
      const before = await snapshot();
      const r = await fetch(`${platform.url}/api/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(inflated),
      });
      expectProblem({ status: r.status, headers: r.headers, body: await r.json() }, 413, 'BODY_TOO_LARGE');
      expect(await snapshot()).to.deep.equal(before);
    });

    it('accepts a gzip-compressed order of normal size', async () => {
      const r = await fetch(`${platform.url}/api/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify({ items: [{ productId: other.id, quantity: 1 }] })),
      });
      expect(r.status).to.equal(201);
      expect(((await r.json()) as { status: string }).status).to.equal('CONFIRMED');
      expect(await stockOf(platform, other.id)).to.equal(5);
    });

    it('refuses a body over 1 MiB with 413', async () => {
      const big = JSON.stringify({
        items: [{ productId: product.id, quantity: 1 }],
        padding: 'x'.repeat(1024 * 1024),
      });
      await refused('POST', '/api/v1/orders', rawOrder(big), 413, 'BODY_TOO_LARGE');
      const bigProduct = JSON.stringify({
        sku: 'BIG-1',
        name: 'Big',
        description: 'x'.repeat(1100 * 1024),
        priceCents: 1,
        currency: 'EUR',
        stock: 1,
      });
      await refused('POST', '/api/v1/products', { ...rawOrder(bigProduct), token: admin }, 413);
    });

    it('accepts a body just under the limit as far as size goes (then validates it)', async () => {
      const body = JSON.stringify({
        items: [{ productId: product.id, quantity: 1 }],
        padding: 'x'.repeat(1000 * 1024),
      });
      // Not too large, so the size check passes and the unknown field is refused instead.
      await refused('POST', '/api/v1/orders', rawOrder(body), 400, 'VALIDATION_FAILED');
    });

    const pollution: [string, string][] = [
      ['__proto__ at the top', `{"__proto__":{"polluted":true},"items":[{"productId":"${absentId()}","quantity":1}]}`],
      ['__proto__ in an item', `{"items":[{"productId":"${absentId()}","quantity":1,"__proto__":{"role":"admin"}}]}`],
      ['constructor.prototype', '{"constructor":{"prototype":{"polluted":true}},"items":[]}'],
      ['a constructor key', `{"items":[{"productId":"${absentId()}","quantity":1}],"constructor":1}`],
    ];
    for (const [what, raw] of pollution) {
      it(`refuses ${what} with 400 and pollutes nothing`, async () => {
        await refused('POST', '/api/v1/orders', rawOrder(raw), 400, 'FORBIDDEN_KEY');
      });
    }

    it('refuses __proto__ in a product body with 400', async () => {
      const raw = '{"sku":"PROTO-1","name":"x","priceCents":1,"currency":"EUR","stock":1,"__proto__":{"polluted":1}}';
      await refused('POST', '/api/v1/products', { ...rawOrder(raw), token: admin }, 400, 'FORBIDDEN_KEY');
      await refused(
        'PATCH',
        `/api/v1/products/${product.id}`,
        { ...rawOrder('{"name":"x","__proto__":{"stock":0}}'), token: admin },
        400,
        'FORBIDDEN_KEY',
      );
    });

    const badQuantities: [string, unknown][] = [
      ['0', 0],
      ['-1', -1],
      ['1.5', 1.5],
      ['1e9', 1e9],
      ['"2"', '2'],
      ['null', null],
    ];
    for (const [label, quantity] of badQuantities) {
      it(`refuses quantity ${label} with 400`, async () => {
        await refused('POST', '/api/v1/orders', orderWith({ items: [{ productId: product.id, quantity }] }), 400);
      });
    }

    it('refuses an item without a quantity or productId, or with a malformed productId, with 400', async () => {
      await refused('POST', '/api/v1/orders', orderWith({ items: [{ productId: product.id }] }), 400);
      await refused('POST', '/api/v1/orders', orderWith({ items: [{ quantity: 1 }] }), 400);
      await refused('POST', '/api/v1/orders', orderWith({ items: [{ productId: 'P-1', quantity: 1 }] }), 400);
      await refused('POST', '/api/v1/orders', orderWith({ items: [{ productId: 42, quantity: 1 }] }), 400);
    });

    it('refuses the same product twice in one order with 400', async () => {
      const items = [
        { productId: product.id, quantity: 1 },
        { productId: product.id, quantity: 1 },
      ];
      await refused('POST', '/api/v1/orders', orderWith({ items }), 400);
    });

    it('refuses empty, missing, non-array and over-long item lists with 400', async () => {
      await refused('POST', '/api/v1/orders', orderWith({ items: [] }), 400);
      await refused('POST', '/api/v1/orders', orderWith({}), 400);
      await refused('POST', '/api/v1/orders', orderWith({ items: { productId: product.id, quantity: 1 } }), 400);
      const many = Array.from({ length: 101 }, (_, i) => ({
        productId: i === 0 ? product.id : absentId(),
        quantity: 1,
      }));
      await refused('POST', '/api/v1/orders', orderWith({ items: many }), 400);
    });

    it('refuses unknown fields with 400', async () => {
      const item = { productId: product.id, quantity: 1 };
      await refused('POST', '/api/v1/orders', orderWith({ items: [item], customerId: 'mallory' }), 400);
      await refused('POST', '/api/v1/orders', orderWith({ items: [item], status: 'CONFIRMED' }), 400);
      await refused('POST', '/api/v1/orders', orderWith({ items: [{ ...item, unitPriceCents: 0 }] }), 400);
    });

    it('accepts the largest allowed order shape (100 items) without a 500', async () => {
      const items = Array.from({ length: 100 }, (_, i) => ({
        productId: i === 0 ? product.id : absentId(),
        quantity: 1,
      }));
      const r = await call(platform.url, 'POST', '/api/v1/orders', orderWith({ items }));
      expect(r.status).to.equal(201);
      expect(r.body).to.include({
        status: 'REJECTED',
        rejectionReason: 'UNKNOWN_PRODUCT',
      });
      await drainOutboxes(platform);
      expect(await stockOf(platform, product.id)).to.equal(5);
    });
  });

  describe('bearer tokens', () => {
    let secret: string;
    let issuer: string;
    let audience: string;
    const item = () => ({ items: [{ productId: product.id, quantity: 1 }] });
    const now = () => Math.floor(Date.now() / 1000);

    before(() => {
      const settings = jwtSettings(platform.running.config, {});
      ({ issuer, audience } = settings);
      secret = settings.secret!; // the monolith's zero-config HS256 key
    });

    /** Each bad token is refused on a write, on an admin write and even on a public read. */
    async function refusedEverywhere(token: string) {
      const order = await refused('POST', '/api/v1/orders', { token, body: item() }, 401, 'INVALID_TOKEN');
      expect(order.headers.get('www-authenticate')).to.match(/^Bearer .*error="invalid_token"/);
      await refused('PATCH', `/api/v1/products/${product.id}`, { token, body: { stock: 0 } }, 401, 'INVALID_TOKEN');
      await refused('GET', `/api/v1/products/${product.id}`, { token }, 401, 'INVALID_TOKEN');
    }

    const sign = (claims: Record<string, unknown>, options: jwt.SignOptions = {}, key = secret) =>
      jwt.sign(claims, key, {
        algorithm: 'HS256',
        issuer,
        audience,
        subject: 'alice-edge',
        ...options,
      });

    it('accepts a good token (the control for the cases below)', async () => {
      const token = sign({ role: 'customer' }, { expiresIn: 60 });
      const r = await call(platform.url, 'GET', '/api/v1/orders', { token });
      expect(r.status).to.equal(200);
    });

    it('refuses a token whose signature was tampered with', async () => {
      const [h, p, s] = alice.split('.') as [string, string, string];
      const i = Math.floor(s.length / 2);
      const flipped = `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
      await refusedEverywhere(`${h}.${p}.${flipped}`);
    });

    it('refuses a token whose payload was changed (customer → admin) under the old signature', async () => {
      const [h, p, s] = alice.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      await refusedEverywhere(`${h}.${b64url({ ...claims, role: 'admin' })}.${s}`);
    });

    it('refuses an expired token', async () => {
      await refusedEverywhere(sign({ role: 'customer', iat: now() - 3600, exp: now() - 60 }));
    });

    it('refuses a token from the platform signer whose ttl has run out (beyond the 5 s clock tolerance)', async () => {
      await refusedEverywhere(platform.token({ id: 'alice-edge', role: 'customer' }, -10));
    });

    it('refuses alg "none" with an empty signature', async () => {
      const header = b64url({ alg: 'none', typ: 'JWT' });
      const payload = b64url({
        sub: 'root',
        role: 'admin',
        iss: issuer,
        aud: audience,
        iat: now(),
        exp: now() + 600,
      });
      await refusedEverywhere(`${header}.${payload}.`);
    });

    it('refuses a token signed with another key', async () => {
      await refusedEverywhere(
        sign({ role: 'admin' }, { expiresIn: 600 }, 'another-secret-that-is-long-enough-0123456789'),
      );
    });

    it('refuses HS512 with the right key (the algorithm is pinned)', async () => {
      await refusedEverywhere(sign({ role: 'admin' }, { expiresIn: 600, algorithm: 'HS512' }));
    });

    it('refuses a token without exp', async () => {
      await refusedEverywhere(sign({ role: 'admin' }));
    });

    it('refuses a wrong issuer or audience', async () => {
      await refusedEverywhere(sign({ role: 'admin' }, { expiresIn: 600, issuer: 'someone-else' }));
      await refusedEverywhere(sign({ role: 'admin' }, { expiresIn: 600, audience: 'another-api' }));
    });

    it('refuses an unknown role or a missing subject', async () => {
      await refusedEverywhere(sign({ role: 'superuser' }, { expiresIn: 600 }));
      await refusedEverywhere(
        jwt.sign({ role: 'admin' }, secret, {
          algorithm: 'HS256',
          issuer,
          audience,
          expiresIn: 600,
        }),
      );
    });

    it('refuses a token that is not yet valid (nbf in the future)', async () => {
      await refusedEverywhere(sign({ role: 'admin', nbf: now() + 600 }, { expiresIn: 1200 }));
    });

    it('refuses malformed Authorization headers with 401', async () => {
      for (const authorization of [
        'Bearer',
        'Bearer ',
        'Basic YWRtaW46YWRtaW4=',
        `Bearer ${alice} extra`,
        'Bearer a.b',
      ]) {
        await refused('POST', '/api/v1/orders', { headers: { authorization }, body: item() }, 401);
      }
      await refused('POST', '/api/v1/orders', { token: 'not-a-jwt', body: item() }, 401);
      await refused('POST', '/api/v1/orders', { token: 'e30.e30.', body: item() }, 401);
    });
  });

  describe('routing and operations', () => {
    it('answers unknown routes with a 404 problem', async () => {
      expectProblem(await call(platform.url, 'GET', '/api/v1/nothing'), 404, 'ROUTE_NOT_FOUND');
      expectProblem(
        await call(platform.url, 'PUT', `/api/v1/products/${product.id}`, {
          token: admin,
          body: {},
        }),
        404,
      );
      expectProblem(await call(platform.url, 'GET', '/'), 404);
    });

    it('routes into a module as Express mounts it: any case, a trailing slash, an absolute-form target', async () => {
      const path = `/api/v1/products/${product.id}`;
      for (const target of [path, `/API/V1/Products/${product.id}`, `http://shop.example${path}`]) {
        const r = await rawRequest(platform.url, [`GET ${target} HTTP/1.1`, 'host: x']);
        expect(r.status, target).to.equal(200);
        expect(r.body.id, target).to.equal(product.id);
      }
      const page = await rawRequest(platform.url, ['GET /api/v1/products/?limit=1 HTTP/1.1', 'host: x']);
      expect(page.status).to.equal(200);
      expect(page.body.items).to.have.length(1);
      // Under a module's mount but no route of it: the app's 404, naming the path as sent.
      const deeper = await call(platform.url, 'GET', `${path}/x`);
      expectProblem(deeper, 404, 'ROUTE_NOT_FOUND');
      expect(deeper.body.detail).to.equal(`no route for GET ${path}/x`);
      expect(deeper.body.instance).to.equal(`${path}/x`);
      const options = await call(platform.url, 'OPTIONS', path);
      expect(options.status).to.equal(200);
      expect(options.headers.get('allow')).to.equal('DELETE, GET, HEAD, PATCH');
    });

    it('answers a path that is not valid percent-encoding with 400, not 500', async () => {
      expectProblem(await call(platform.url, 'GET', '/api/v1/products/%E0%A4%A'), 400);
      expectProblem(await call(platform.url, 'GET', '/api/v1/orders/%ZZ', { token: alice }), 400);
      await refused('POST', '/api/v1/orders/%E0%A4%A/cancel', { token: alice }, 400);
      await refused('PATCH', '/api/v1/products/%ZZ', { token: admin, body: { stock: 0 } }, 400);
    });

    it('echoes a well-formed X-Request-Id and makes one up otherwise', async () => {
      const given = await call(platform.url, 'GET', '/health/live', {
        headers: { 'x-request-id': 'req-123.abc' },
      });
      expect(given.headers.get('x-request-id')).to.equal('req-123.abc');
      const bad = await call(platform.url, 'GET', '/health/live', {
        headers: { 'x-request-id': 'bad id<>' },
      });
      expect(bad.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    });

    it('serves /health/live', async () => {
      const r = await call(platform.url, 'GET', '/health/live');
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal({ status: 'ok' });
    });

    it('serves /health/ready with a check per dependency', async () => {
      const r = await call(platform.url, 'GET', '/health/ready');
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal({
        status: 'ready',
        checks: { lifecycle: 'ok', 'event-bus': 'ok', 'product-db': 'ok', 'order-db': 'ok', 'access-db': 'ok' },
      });
    });

    it('serves Prometheus metrics labelled with route templates, never raw ids', async () => {
      expect((await call(platform.url, 'GET', `/api/v1/products/${product.id}`)).status).to.equal(200);
      expect((await call(platform.url, 'GET', `/API/V1/PRODUCTS/${product.id}`)).status).to.equal(200);
      const missing = absentId();
      expect((await call(platform.url, 'GET', `/api/v1/products/${missing}`)).status).to.equal(404);
      const r = await call<string>(platform.url, 'GET', '/metrics');
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^text\/plain/);
      const lines = r.body.split('\n');
      const requests = lines.filter((l) => l.startsWith('http_requests_total{'));
      const labelled = (route: string, status: number) =>
        requests.find((l) => l.includes(`route="${route}"`) && l.includes(`status="${status}"`));
      expect(labelled('/api/v1/products/:id', 200), requests.join('\n')).to.be.a('string');
      // A failed request is labelled with its route too, not with the router-relative "/:id".
      expect(labelled('/api/v1/products/:id', 404), requests.join('\n')).to.be.a('string');
      expect(labelled('/api/v1/orders', 201), requests.join('\n')).to.be.a('string');
      expect(requests.some((l) => l.includes('route="/:id"'))).to.equal(false);
      // The template as the route is mounted, whatever case the request was sent in.
      expect(requests.some((l) => /route="[^"]*[A-Z]/.test(l))).to.equal(false);
      expect(r.body).to.not.include(product.id);
      expect(r.body).to.not.include(missing);
      expect(r.body).to.match(/^# TYPE http_requests_total counter$/m);
      expect(r.body).to.match(/^http_request_duration_seconds_bucket\{/m);
    });
  });
});
