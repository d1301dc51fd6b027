import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { call, type HttpResult, rawRequest, type RequestOptions } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import { startTestRole, type TestRole, uniqueRedisPrefix } from '../support/roles.ts';
import { createProduct, expectProblem, type Product, TEST_SETTINGS, tokens } from '../support/shop.ts';

/**
 * Hostile input, class by class, as an attacker would send it: each must get its 4xx and never a 500, on
 * the monolith (Express dispatch) and, where the gateway has a say, through the gateway (proxy dispatch).
 */
describe('edge fuzz: what the edge cannot read is refused, never a 500', function () {
  this.timeout(30_000);
  let platform: TestPlatform;
  let product: TestRole;
  let gateway: TestRole;
  let admin: string;
  let alice: string;
  let lamp: Product;

  before(async () => {
    platform = await startMonolith({ ...TEST_SETTINGS });
    admin = tokens(platform).admin;
    alice = tokens(platform).customer('alice-fuzz');
    lamp = await createProduct(platform, { stock: 5 });
    product = await startTestRole({ role: 'product', ...TEST_SETTINGS });
    gateway = await startTestRole({
      role: 'gateway',
      ...TEST_SETTINGS,
      redisKeyPrefix: uniqueRedisPrefix(),
      productUpstreams: product.url,
      orderUpstreams: product.url,
    });
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([product?.stop(), platform?.dispose()]);
  });

  const each = async (
    bases: () => string[],
    send: (base: string) => Promise<HttpResult>,
    status: number,
    code?: string,
  ) => {
    for (const base of bases()) {
      const r = await send(base);
      expect(r.status, `${base}: ${JSON.stringify(r.body)}`).to.not.equal(500);
      expectProblem(r, status, code);
    }
  };
  const both = () => [platform.url, gateway.url];
  /** A customer's token valid where it is sent (the monolith signs with its own development key). */
  const customerAt = (base: string) =>
    base === platform.url ? alice : gateway.token({ id: 'alice-fuzz', role: 'customer' });
  const monolith = () => [platform.url];
  const json = (token: string | undefined, rawBody: string | Uint8Array<ArrayBuffer>, extra = {}): RequestOptions => ({
    ...(token ? { token } : {}),
    rawBody,
    headers: { 'content-type': 'application/json', ...extra },
  });

  it('refuses control characters in a query or a path (NUL would reach SQLite)', async () => {
    for (const q of ['%00', 'a%00b', '%01', '%1F', '%7F']) {
      await each(both, (b) => call(b, 'GET', `/api/v1/products?q=${q}`), 400, 'MALFORMED_QUERY');
    }
    await each(both, (b) => call(b, 'GET', `/api/v1/products?%00=1`), 400, 'MALFORMED_QUERY');
    await each(both, (b) => call(b, 'GET', `/api/v1/products/a%01b`), 400, 'MALFORMED_PATH');
  });

  it('refuses control characters in any JSON string, keeps tabs and new lines', async () => {
    const body = (name: string, description: string) =>
      JSON.stringify({ sku: `FZ-${Date.now()}`, name, description, priceCents: 1, currency: 'EUR', stock: 1 });
    for (const bad of ['\u0000', 'a\u0000', '\u0001', '\u001b[31m', '\u007f']) {
      await each(
        monolith,
        (b) => call(b, 'POST', '/api/v1/products', json(admin, body(`n${bad}`, 'd'))),
        400,
        'CONTROL_CHARACTER',
      );
      await each(
        monolith,
        (b) => call(b, 'POST', '/api/v1/products', json(admin, body('n', bad))),
        400,
        'CONTROL_CHARACTER',
      );
    }
    const fine = await call(
      platform.url,
      'POST',
      '/api/v1/products',
      json(admin, body('Tea', 'line one\n\tline two\r\n')),
    );
    expect(fine.status).to.equal(201);
    expect(fine.body.description).to.equal('line one\n\tline two\r\n');
  });

  it('refuses a body whose Content-Encoding does not decode with 400, an encoding it does not know with 415', async () => {
    const order = JSON.stringify({ items: [{ productId: lamp.id, quantity: 1 }] });
    const zipped = new Uint8Array(gzipSync(order));
    const undecodable: [string, Uint8Array<ArrayBuffer>][] = [
      ['gzip', zipped.slice(0, zipped.length - 8)], // truncated
      ['gzip', new TextEncoder().encode('not gzip at all')],
      ['deflate', new TextEncoder().encode('not deflate')],
      ['br', new Uint8Array([0xff, 0xff, 0xff, 0x00])],
    ];
    for (const [encoding, bytes] of undecodable) {
      await each(
        monolith,
        (b) => call(b, 'POST', '/api/v1/orders', json(alice, bytes, { 'content-encoding': encoding })),
        400,
        'MALFORMED_BODY',
      );
    }
    await each(
      both,
      (b) => call(b, 'POST', '/api/v1/orders', json(customerAt(b), order, { 'content-encoding': 'compress' })),
      415,
    );
    const good = await call(
      platform.url,
      'POST',
      '/api/v1/orders',
      json(alice, zipped, { 'content-encoding': 'gzip' }),
    );
    expect(good.status).to.equal(201);
  });

  it('refuses ambiguous credentials: two Authorization headers, two API keys', async () => {
    const twice = (base: string, name: string) =>
      rawRequest(base, [
        'GET /api/v1/products HTTP/1.1',
        'host: fuzz',
        `${name}: Bearer ${customerAt(base)}`,
        `${name}: Bearer ${admin}`,
      ]);
    await each(both, (b) => twice(b, 'authorization'), 400, 'AMBIGUOUS_CREDENTIALS');
    await each(both, (b) => twice(b, 'x-api-key'), 400, 'AMBIGUOUS_CREDENTIALS');
  });

  it('refuses a token naming critical extensions (RFC 7515 crit)', async () => {
    const secret = 'role-tests-signing-key-of-enough-length-0123456789'; // the harness's shared key (gateway)
    const crit = jwt.sign({ role: 'customer' }, secret, {
      algorithm: 'HS256',
      subject: 'mallory',
      issuer: 'hexashop',
      audience: 'hexashop-api',
      expiresIn: 60,
      header: { alg: 'HS256', crit: ['exp-unknown'], 'exp-unknown': true } as jwt.JwtHeader,
    });
    await each(
      () => [gateway.url],
      (b) => call(b, 'GET', '/api/v1/orders', { token: crit }),
      401,
      'INVALID_TOKEN',
    );
  });

  it('checks who is asking before it reads the body', async () => {
    const malformed = '{"items": [';
    await each(both, (b) => call(b, 'POST', '/api/v1/orders', json(undefined, malformed)), 401);
    await each(both, (b) => call(b, 'POST', '/api/v1/orders', json(undefined, 'x'.repeat(2 * 1024 * 1024))), 401);
    await each(monolith, (b) => call(b, 'POST', '/api/v1/products', json(alice, malformed)), 403, 'FORBIDDEN');
    await each(
      monolith,
      (b) => call(b, 'POST', '/api/v1/products', json(alice, 'text', { 'content-type': 'text/plain' })),
      403,
    );
  });

  it('does not serve the internal API on the monolith, and asks who is calling before anything else', async () => {
    const malformed = '{"orderId":';
    await each(monolith, (b) => call(b, 'POST', '/internal/v1/reservations', json(undefined, malformed)), 401);
    await each(
      monolith,
      (b) => call(b, 'POST', '/internal/v1/reservations', json(admin, malformed)),
      404,
      'ROUTE_NOT_FOUND',
    );
  });

  it('refuses query parameters a route does not take, and a limit that is not plain digits', async () => {
    await each(both, (b) => call(b, 'GET', `/api/v1/products/${lamp.id}?expand=all`), 400, 'VALIDATION_FAILED');
    await each(
      monolith,
      (b) =>
        call(b, 'POST', '/api/v1/orders?mdoe=async', {
          token: alice,
          body: { items: [{ productId: lamp.id, quantity: 1 }] },
        }),
      400,
    );
    await each(monolith, (b) => call(b, 'DELETE', `/api/v1/products/${lamp.id}?force=1`, { token: admin }), 400);
    for (const limit of ['0x3', '1e1', '+3', '%203', '3.0', '0', '101']) {
      await each(both, (b) => call(b, 'GET', `/api/v1/products?limit=${limit}`), 400, 'VALIDATION_FAILED');
    }
    expect((await call(platform.url, 'GET', '/api/v1/products?limit=3')).status).to.equal(200);
  });

  it('compares ids in one case: the same product in two cases is one product', async () => {
    const upper = lamp.id.toUpperCase();
    const read = await call(platform.url, 'GET', `/api/v1/products/${upper}`);
    expect(read.status).to.equal(200);
    expect(read.body.id).to.equal(lamp.id);
    const twice = {
      token: alice,
      body: {
        items: [
          { productId: lamp.id, quantity: 1 },
          { productId: upper, quantity: 1 },
        ],
      },
    };
    await each(monolith, (b) => call(b, 'POST', '/api/v1/orders', twice), 400, 'VALIDATION_FAILED');
  });
});
