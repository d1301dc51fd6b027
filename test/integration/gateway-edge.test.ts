import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { call, type HttpResult } from '../support/http.ts';
import {
  startStubService,
  startTestRole,
  type StubService,
  type TestRole,
  uniqueRedisPrefix,
} from '../support/roles.ts';
import { integrationServices } from '../support/services.ts';
import { expectProblem, TEST_SETTINGS, uniqueSku } from '../support/shop.ts';

/** A request sent byte for byte as given (fetch would normalise the path), answered as an HttpResult. */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const { hostname, port } = new URL(base);
  return new Promise<HttpResult>((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: res.statusCode!,
          headers: new Headers(res.headers as Record<string, string>),
          body: text ? JSON.parse(text) : undefined,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const MALFORMED_PATHS = [
  '/api/v1/orders/../../internal/v1/reservations',
  '/api/v1/orders/./x',
  '/api/v1/orders/%2e%2e/%2E%2e/internal/v1/reservations',
  '/api/v1//orders',
  '/api/v1/orders/a%2Fb',
  '/api/v1/orders/a%5cb',
  '/api/v1/orders/a\\b',
  '/api/v1/orders/a%00',
  '/api/v1/orders/%ZZ',
];
const MALFORMED_QUERIES = ['/api/v1/orders?limit=1&limit=2', '/api/v1/orders?status=%zz', '/api/v1/orders?a=1&a=1'];

describe('gateway edge', function () {
  this.timeout(30_000);
  const adminKey = randomBytes(32).toString('base64url');
  let product: TestRole;
  let orders: StubService;
  let gateway: TestRole;
  let customer: string;

  before(async () => {
    const { redisUrl } = await integrationServices();
    const shared = { redisUrl, redisKeyPrefix: uniqueRedisPrefix(), apiKeys: `ci:admin:${adminKey}`, ...TEST_SETTINGS };
    [product, orders] = await Promise.all([startTestRole({ role: 'product', ...shared }), startStubService()]);
    gateway = await startTestRole({
      role: 'gateway',
      ...shared,
      productUpstreams: product.url,
      orderUpstreams: orders.url,
    });
    customer = gateway.token({ id: 'edge-customer', role: 'customer' });
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([product?.stop(), orders?.close()]);
  });

  /** Sends a request the gateway itself must refuse, and checks that the service never saw it. */
  async function refusedAtGateway(send: () => Promise<HttpResult>, status: number, code?: string) {
    const before = orders.hits;
    const r = await send();
    expectProblem(r, status, code);
    expect(orders.hits, `the request reached the service: ${JSON.stringify(orders.last)}`).to.equal(before);
    return r;
  }
  const postOrder = (body: string, headers: Record<string, string>) =>
    call(gateway.url, 'POST', '/api/v1/orders', { token: customer, rawBody: body, headers });

  it('refuses bodies that are not JSON with 415 before proxying', async () => {
    const json = '{"items":[]}';
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      { 'content-type': 'application/json; charset=latin1' },
      { 'content-type': 'application/json', 'content-encoding': 'compress' },
    ] as Record<string, string>[]) {
      await refusedAtGateway(() => postOrder(json, headers), 415);
    }
    // No Content-Type at all (fetch would add text/plain).
    const bare = { authorization: `Bearer ${customer}`, 'content-length': String(json.length) };
    await refusedAtGateway(() => raw(gateway.url, 'POST', '/api/v1/orders', bare, json), 415);
    // The control: JSON is proxied.
    expect((await postOrder(json, { 'content-type': 'application/json' })).status).to.equal(201);
  });

  it('refuses a declared Content-Length over the body limit with 413 before proxying', async () => {
    const big = JSON.stringify({ items: [], padding: 'x'.repeat(1100 * 1024) });
    await refusedAtGateway(() => postOrder(big, { 'content-type': 'application/json' }), 413, 'BODY_TOO_LARGE');
  });

  it('passes on the service 413 for a chunked body over the limit', async () => {
    const admin = gateway.token({ id: 'admin-1', role: 'admin' });
    const chunks = [Buffer.from('{"sku":"BIG","description":"'), Buffer.alloc(1100 * 1024, 'x'), Buffer.from('"}')];
    const r = await fetch(`${gateway.url}/api/v1/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: Readable.toWeb(Readable.from(chunks)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expectProblem({ status: r.status, headers: r.headers, body: await r.json() }, 413, 'BODY_TOO_LARGE');
  });

  it('answers malformed JSON and prototype keys with 400 (from the service, through the gateway)', async () => {
    const admin = gateway.token({ id: 'admin-1', role: 'admin' });
    const post = (rawBody: string) =>
      call(gateway.url, 'POST', '/api/v1/products', {
        token: admin,
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
    expectProblem(await post('{"sku": '), 400, 'MALFORMED_JSON');
    const valid = { sku: uniqueSku('EDGE'), name: 'x', priceCents: 1, currency: 'EUR', stock: 1 };
    const polluted = JSON.stringify(valid).replace('{', '{"__proto__":{"polluted":true},');
    expectProblem(await post(polluted), 400, 'FORBIDDEN_KEY');
    expectProblem(await post(JSON.stringify({ ...valid, constructor: 1 })), 400, 'FORBIDDEN_KEY');
    expect(Object.prototype).to.not.have.property('polluted');
  });

  it('refuses paths and queries that are not in normal form with 400 before proxying', async () => {
    for (const path of MALFORMED_PATHS) {
      await refusedAtGateway(() => raw(gateway.url, 'GET', path, { authorization: `Bearer ${customer}` }), 400);
    }
    for (const path of MALFORMED_QUERIES) {
      const send = () => raw(gateway.url, 'GET', path, { authorization: `Bearer ${customer}` });
      await refusedAtGateway(send, 400, 'MALFORMED_QUERY');
    }
  });

  it('refuses bad credentials with 401 before proxying, and takes API keys', async () => {
    await refusedAtGateway(() => call(gateway.url, 'GET', '/api/v1/orders', { token: 'a.b.c' }), 401);
    const unknownKey = { headers: { 'x-api-key': randomBytes(32).toString('base64url') } };
    await refusedAtGateway(() => call(gateway.url, 'GET', '/api/v1/orders', unknownKey), 401, 'INVALID_API_KEY');
    // The key is forwarded and checked again by the product service, configured with the same keys.
    const r = await call(gateway.url, 'POST', '/api/v1/products', {
      headers: { 'x-api-key': adminKey },
      body: { sku: uniqueSku('GWKEY'), name: 'Via key', priceCents: 1, currency: 'EUR', stock: 1 },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
  });

  it('authenticates and rate limits the /api/v1 paths it does not proxy too, before their 404', async () => {
    expectProblem(await call(gateway.url, 'GET', '/api/v1/warehouses', { token: 'a.b.c' }), 401, 'INVALID_TOKEN');
    const r = await call(gateway.url, 'GET', '/api/v1/warehouses', { token: customer });
    expectProblem(r, 404, 'ROUTE_NOT_FOUND');
    expect(r.headers.get('ratelimit-policy')).to.match(/^"read"; q=\d+/);
  });

  it('propagates a well-formed request id to the service and back, and assigns one otherwise', async () => {
    const given = await call(gateway.url, 'GET', '/api/v1/orders', {
      token: customer,
      headers: { 'x-request-id': 'edge-req-42' },
    });
    expect(given.headers.get('x-request-id')).to.equal('edge-req-42');
    expect(orders.last?.headers['x-request-id']).to.equal('edge-req-42');
    const bad = await call(gateway.url, 'GET', '/api/v1/orders', {
      token: customer,
      headers: { 'x-request-id': 'bad id <script>' },
    });
    const assigned = bad.headers.get('x-request-id');
    expect(assigned).to.match(/^[0-9a-f-]{36}$/);
    expect(orders.last?.headers['x-request-id']).to.equal(assigned);
  });

  it('sets the security headers on proxied and on its own responses', async () => {
    const proxied = await call(gateway.url, 'GET', '/api/v1/orders', { token: customer });
    const own = await call(gateway.url, 'GET', '/api/v1/nothing');
    for (const r of [proxied, own]) {
      expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(r.headers.get('strict-transport-security')).to.match(/max-age=\d+/);
      expect(r.headers.get('content-security-policy')).to.be.a('string');
      expect(r.headers.get('x-frame-options')).to.equal('SAMEORIGIN');
      expect(r.headers.get('x-powered-by')).to.equal(null);
    }
  });

  describe('the monolith, too', () => {
    let shop: TestRole;
    before(async () => {
      shop = await startTestRole({ role: 'monolith', ...TEST_SETTINGS });
    });
    after(() => shop?.stop());

    it('refuses paths and queries that are not in normal form with 400', async () => {
      const token = shop.token({ id: 'edge-customer', role: 'customer' });
      for (const path of [...MALFORMED_PATHS, ...MALFORMED_QUERIES]) {
        const r = await raw(shop.url, 'GET', path, { authorization: `Bearer ${token}` });
        expectProblem(r, 400);
        expect(r.body.code, path).to.be.oneOf(['MALFORMED_PATH', 'MALFORMED_QUERY']);
      }
      // The controls: a normal path and query, a trailing slash, an encoded space in a value.
      for (const path of ['/api/v1/orders?limit=5', '/api/v1/orders/', '/api/v1/products?q=green%20tea&limit=2']) {
        expect((await raw(shop.url, 'GET', path, { authorization: `Bearer ${token}` })).status, path).to.equal(200);
      }
    });
  });
});

describe('gateway upstream timeout setting', function () {
  this.timeout(30_000);
  let stub: StubService;
  let gateway: TestRole;

  before(async () => {
    const { redisUrl } = await integrationServices();
    stub = await startStubService();
    gateway = await startTestRole({
      role: 'gateway',
      redisUrl,
      redisKeyPrefix: uniqueRedisPrefix(),
      productUpstreams: stub.url,
      orderUpstreams: stub.url,
      upstreamTimeoutMs: 300,
      ...TEST_SETTINGS,
    });
  });
  after(async () => {
    await gateway?.stop();
    await stub?.close();
  });

  it('answers 504 once an instance has not started answering within --upstream-timeout-ms', async () => {
    expect((await call(gateway.url, 'GET', '/api/v1/products?delayMs=50')).status).to.equal(200);
    // With the default (10 s) this would be a 200 after 2 s.
    expectProblem(await call(gateway.url, 'GET', '/api/v1/products?delayMs=2000'), 504, 'UPSTREAM_TIMEOUT');
  });
});
