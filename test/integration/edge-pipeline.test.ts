import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { call, type HttpResult, type RequestOptions } from '../support/http.ts';
import {
  startStubService,
  startTestRole,
  type StubService,
  type TestRole,
  uniqueRedisPrefix,
} from '../support/roles.ts';

/**
 * One edge pipeline, two dispatchers: the gateway's proxied routes (no Express) and Express (the module
 * routes of the monolith). The same requests sent through both must meet the same steps in the same order
 * and get the same answers: request id, security headers, target checks, credentials, rate limits (bad
 * credentials spend the budget), body checks, one problem mapper.
 */
describe('edge pipeline: the same requests through both dispatch paths', function () {
  this.timeout(30_000);
  const apiKey = randomBytes(32).toString('base64url');
  // A small write budget, so the rate-limit row runs out within the test; reads are plentiful.
  const limits = { rateLimitRead: 1000, rateLimitWrite: 4, apiKeys: `ci:customer:${apiKey}` };
  let monolith: TestRole;
  let gateway: TestRole;
  let products: StubService;
  let orders: StubService;

  before(async () => {
    [monolith, products, orders] = await Promise.all([
      startTestRole({ role: 'monolith', ...limits }),
      startStubService(),
      startStubService(),
    ]);
    gateway = await startTestRole({
      role: 'gateway',
      ...limits,
      redisKeyPrefix: uniqueRedisPrefix(), // the gateway counts in Redis: its own keys, not another run's
      productUpstreams: products.url,
      orderUpstreams: orders.url,
    });
  });
  after(async () => {
    await Promise.all([gateway?.stop(), monolith?.stop(), products?.close(), orders?.close()]);
  });

  /** What must be the same on both paths. */
  const shape = (r: HttpResult) => ({
    status: r.status,
    code: r.body?.code,
    requestId: r.headers.get('x-request-id'),
    csp: r.headers.get('content-security-policy'),
    nosniff: r.headers.get('x-content-type-options'),
    wwwAuthenticate: r.headers.get('www-authenticate'),
    rateLimitPolicy: r.headers.get('ratelimit-policy')?.replace(/pk=:[^:]*:/, 'pk=…'),
    retryAfter: r.headers.get('retry-after') !== null,
    contentType: r.headers.get('content-type'),
  });

  const both = async (method: string, path: string, options: RequestOptions = {}) => {
    const viaExpress = await call(monolith.url, method, path, options);
    const viaProxy = await call(gateway.url, method, path, options);
    expect(shape(viaProxy), `${method} ${path} through the gateway`).to.deep.equal(shape(viaExpress));
    return viaProxy;
  };

  const json = { 'content-type': 'application/json' };
  const withId = (id: string, headers: Record<string, string> = {}) => ({ 'x-request-id': id, ...headers });

  it('refuses the same bad requests with the same problems, before the service sees them', async () => {
    const seen = products.hits + orders.hits;
    const cases: [string, string, RequestOptions, number, string][] = [
      ['GET', '/api/v1/products?limit=1&limit=2', { headers: withId('q-1') }, 400, 'MALFORMED_QUERY'],
      ['GET', '/api/v1/orders/a%2Fb', { headers: withId('p-1') }, 400, 'MALFORMED_PATH'],
      ['GET', '/api/v1/orders', { headers: withId('t-1', { authorization: 'Bearer a.b.c' }) }, 401, 'INVALID_TOKEN'],
      ['GET', '/api/v1/products', { headers: withId('k-1', { 'x-api-key': 'x'.repeat(40) }) }, 401, 'INVALID_API_KEY'],
      [
        'GET',
        '/api/v1/orders',
        { headers: withId('a-1', { authorization: 'Bearer a.b.c', 'x-api-key': apiKey }) },
        400,
        'AMBIGUOUS_CREDENTIALS',
      ],
      [
        'POST',
        '/api/v1/orders',
        { headers: withId('m-1', { 'x-api-key': apiKey, 'content-type': 'text/plain' }), rawBody: 'hi' },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
    ];
    for (const [method, path, options, status, code] of cases) {
      const r = await both(method, path, options);
      expect(r.status, `${method} ${path}`).to.equal(status);
      expect(r.body.code).to.equal(code);
      expect(r.headers.get('x-request-id')).to.equal((options.headers as Record<string, string>)['x-request-id']);
    }
    expect(products.hits + orders.hits, 'a refused request reached a service').to.equal(seen);
  });

  it('lets the same good request through with the same edge headers', async () => {
    const r = await both('GET', '/api/v1/products?limit=1', { headers: withId('ok-1') });
    expect(r.status).to.equal(200);
    expect(r.headers.get('ratelimit-policy')).to.match(/^"read"; q=1000; w=60;/);
  });

  it('spends the write budget of a client whose credentials are refused, then answers 429 on both', async () => {
    const bad = { headers: withId('rl', { ...json, authorization: 'Bearer not.a.token' }), body: { items: [] } };
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await both('POST', '/api/v1/orders', bad)).status);
    expect(answers).to.deep.equal([401, 401, 401, 401, 429]);
  });

  it("continues the caller's trace on the proxied path as on the others", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await call(gateway.url, 'GET', '/api/v1/products', {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(r.status).to.equal(200);
    const forwarded = String(products.last?.headers.traceparent);
    expect(forwarded.split('-')[1]).to.equal(traceId);
  });
});
