import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { call, type HttpResult } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import { createProduct, expectProblem, placeOrder, TEST_SETTINGS, tokens } from '../support/shop.ts';
import { apiOperations, type Caller } from './support/openapi.ts';
import { stateDigest } from './support/state.ts';

/**
 * OWASP API Security Top 10 (2023), the classes a fuzzer does not aim at by itself: object-level and
 * function-level authorization across every operation and kind of caller, mass assignment, resource limits,
 * credential brute force and a spoofed X-Forwarded-For, security headers. Each refusal is checked to have
 * changed nothing. (JWT attacks: jwt-attacks.test.ts; schema fuzzing: fuzz.test.ts; secrets: secrets.test.ts.)
 */
const KEYS = { customer: `ow-cust-${randomUUID()}`, admin: `ow-admin-${randomUUID()}` };

describe('OWASP API Top 10: authorization, mass assignment, limits, brute force, headers', function () {
  this.timeout(60_000);
  let platform: TestPlatform;
  let productId: string;
  let aliceOrder: string;
  let as: Record<Caller | 'bob' | 'bobKey', Record<string, string>>;

  before(async () => {
    platform = await startMonolith({
      ...TEST_SETTINGS,
      apiKeys: `ow-cust:customer:${KEYS.customer},ow-admin:admin:${KEYS.admin}`,
    });
    const t = tokens(platform);
    as = {
      anonymous: {},
      customer: { authorization: `Bearer ${t.customer('alice')}` },
      admin: { authorization: `Bearer ${t.admin}` },
      bob: { authorization: `Bearer ${t.customer('bob')}` },
      bobKey: { 'x-api-key': KEYS.customer },
    };
    productId = (await createProduct(platform, { stock: 50, priceCents: 1000 })).id;
    aliceOrder = (await placeOrder(platform, t.customer('alice'), [{ productId, quantity: 2 }])).body.id as string;
  });
  after(() => platform?.dispose());

  const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    call(platform.url, method, path, { headers, ...(body === undefined ? {} : { body }) });

  /** The request is refused with `status` (and `code`), and nothing in any database changed. */
  async function refusedWithoutEffect(status: number, code: string | undefined, request: () => Promise<HttpResult>) {
    const before = await stateDigest(platform);
    const answer = await request();
    expectProblem(answer, status, code);
    expect(await stateDigest(platform), 'state after a refused request').to.equal(before);
    return answer;
  }

  describe('API1 broken object-level authorization', () => {
    for (const who of ['bob', 'bobKey'] as const) {
      it(`${who === 'bob' ? 'another customer' : "another customer's API key"} can neither read nor cancel alice's order, nor see it listed`, async () => {
        await refusedWithoutEffect(404, 'ORDER_NOT_FOUND', () => send('GET', `/api/v1/orders/${aliceOrder}`, as[who]));
        await refusedWithoutEffect(404, 'ORDER_NOT_FOUND', () =>
          send('POST', `/api/v1/orders/${aliceOrder}/cancel`, as[who]),
        );
        const listed = await send('GET', '/api/v1/orders?limit=100', as[who]);
        expect(listed.status).to.equal(200);
        expect(listed.body.items.map((o: { id: string }) => o.id)).to.not.include(aliceOrder);
        const mine = await send('GET', `/api/v1/orders/${aliceOrder}`, as.customer);
        expect(mine.body.status).to.equal('CONFIRMED');
      });
    }
  });

  describe('API5 broken function-level authorization (every operation, every caller, from the OpenAPI security)', () => {
    const sample = (path: string) => path.replace('{id}', randomUUID());
    for (const op of apiOperations()) {
      for (const caller of ['anonymous', 'customer', 'admin'] as const) {
        if (op.allowed.has(caller)) continue;
        const status = caller === 'anonymous' ? 401 : 403;
        it(`${op.method} ${op.path} refuses ${caller === 'anonymous' ? 'an anonymous caller' : `a ${caller}`} with ${status}`, async () => {
          const answer = await refusedWithoutEffect(status, undefined, () =>
            send(op.method, sample(op.path), as[caller], op.body ? {} : undefined),
          );
          if (status === 401) expect(answer.headers.get('www-authenticate')).to.match(/^Bearer realm="hexashop"/);
        });
      }
    }
  });

  describe('API3 broken object property-level authorization (mass assignment)', () => {
    const cases: [string, string, string, Record<string, unknown>][] = [
      ['POST', '/api/v1/products', 'admin', { id: randomUUID(), version: 7, createdAt: '2000-01-01T00:00:00Z' }],
      ['PATCH', '/api/v1/products/{product}', 'admin', { sku: 'TAKEOVER-1' }],
      ['PATCH', '/api/v1/products/{product}', 'admin', { id: randomUUID() }],
      ['POST', '/api/v1/orders', 'customer', { customerId: 'bob' }],
      ['POST', '/api/v1/orders', 'customer', { status: 'CONFIRMED', totalCents: 1 }],
    ];
    for (const [method, template, caller, extra] of cases) {
      it(`${method} ${template} refuses ${Object.keys(extra).join(', ')} from the client`, async () => {
        const path = template.replace('{product}', productId);
        const valid: Record<string, unknown> =
          template === '/api/v1/products'
            ? { sku: `MA-${randomUUID().slice(0, 8)}`, name: 'Mass', priceCents: 1, currency: 'EUR', stock: 1 }
            : template.startsWith('/api/v1/products/')
              ? { name: 'Renamed' }
              : { items: [{ productId, quantity: 1 }] };
        await refusedWithoutEffect(400, undefined, () =>
          send(method, path, { ...as[caller as Caller], 'if-match': '*' }, { ...valid, ...extra }),
        );
      });
    }
  });

  describe('API4 unrestricted resource consumption', () => {
    it('caps page sizes', async () => {
      for (const limit of ['101', '100000', '0', '-1', '1e3']) {
        await refusedWithoutEffect(400, undefined, () => send('GET', `/api/v1/products?limit=${limit}`, as.anonymous));
        await refusedWithoutEffect(400, undefined, () => send('GET', `/api/v1/orders?limit=${limit}`, as.customer));
      }
      expect((await send('GET', '/api/v1/products?limit=100', as.anonymous)).status).to.equal(200);
    });

    it('caps quantities, items per order and body size', async () => {
      const order = (items: unknown) => () => send('POST', '/api/v1/orders', as.customer, { items });
      await refusedWithoutEffect(400, undefined, order([{ productId, quantity: 1001 }]));
      await refusedWithoutEffect(400, undefined, order([{ productId, quantity: 2 ** 53 }]));
      await refusedWithoutEffect(
        400,
        undefined,
        order(Array.from({ length: 101 }, () => ({ productId, quantity: 1 }))),
      );
      await refusedWithoutEffect(413, undefined, () =>
        call(platform.url, 'POST', '/api/v1/products', {
          headers: { ...as.admin, 'content-type': 'application/json' },
          rawBody: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
        }),
      );
    });
  });

  describe('API2 broken authentication: guessing credentials spends the caller’s budget', () => {
    let limited: TestPlatform;
    before(async () => {
      limited = await startMonolith({
        rateLimitRead: 5,
        rateLimitWrite: 5,
        apiKeys: `ow-cust:customer:${KEYS.customer}`,
      });
    });
    after(() => limited?.dispose());

    it('answers 429 after a few wrong API keys, even when every guess claims another X-Forwarded-For', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const answer = await call(limited.url, 'GET', '/api/v1/products', {
          headers: { 'x-api-key': `guess-${i}-${randomUUID()}`, 'x-forwarded-for': `203.0.113.${i}` },
        });
        statuses.push(answer.status);
      }
      expect(
        statuses.slice(0, 5).every((s) => s === 401),
        String(statuses),
      ).to.equal(true);
      expect(
        statuses.slice(5).every((s) => s === 429),
        String(statuses),
      ).to.equal(true);
    });
  });

  describe('API8 security misconfiguration', () => {
    it('sends the security headers on answers and refusals alike, and no stack or framework banner', async () => {
      const answers = [
        await send('GET', '/api/v1/products', as.anonymous),
        await send('GET', `/api/v1/products/${randomUUID()}`, as.anonymous),
        await send('POST', '/api/v1/products', as.customer, {}),
        await send('GET', '/api/v1/nothing-here', as.anonymous),
        await call(platform.url, 'POST', '/api/v1/orders', {
          headers: { ...as.customer, 'content-type': 'application/json' },
          rawBody: '{',
        }),
      ];
      for (const answer of answers) {
        const h = answer.headers;
        expect(h.get('x-content-type-options'), String(answer.status)).to.equal('nosniff');
        expect(h.get('content-security-policy')).to.include("default-src 'self'");
        expect(h.get('x-frame-options')).to.equal('SAMEORIGIN');
        expect(h.get('referrer-policy')).to.equal('no-referrer');
        expect(h.get('x-powered-by')).to.equal(null);
        expect(JSON.stringify(answer.body)).to.not.match(/at .*\.ts:\d+|node_modules|Error:/);
      }
    });
  });

  describe('API9 improper inventory management', () => {
    it('does not serve the internal reservation API on the public edge', async () => {
      await refusedWithoutEffect(404, undefined, () =>
        send('POST', '/internal/v1/reservations', as.admin, {
          orderId: randomUUID(),
          items: [{ productId, quantity: 1 }],
        }),
      );
    });
  });
});
