import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import express from 'express';
import { Redis } from 'ioredis';
import { signToken } from '../../src/edge/http/auth.ts';
import { HttpMetrics } from '../../src/edge/http/metrics.ts';
import { clientAddress, rateLimitKey } from '../../src/edge/http/rate-limit.ts';
import { createHttpApp } from '../../src/edge/http-app.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { call, eventually, type HttpResult } from '../support/http.ts';
import { closedPort, listen, testJwt, type TestServer } from '../support/product-service.ts';
import {
  startStubService,
  startTestRole,
  type StubService,
  type TestRole,
  uniqueRedisPrefix,
} from '../support/roles.ts';
import { integrationServices } from '../support/services.ts';
import { expectProblem } from '../support/shop.ts';
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const READ_LIMIT = 5;
const WRITE_LIMIT = 2;

/** A 429 as the contract describes it: problem+json, Retry-After, and the RateLimit fields at zero. */
function expectLimited(r: HttpResult, policy: 'read' | 'write', limit: number): void {
  expectProblem(r, 429, 'RATE_LIMITED');
  expect(Number(r.headers.get('retry-after'))).to.be.within(1, 60);
  expect(r.headers.get('ratelimit')).to.match(new RegExp(`^"${policy}"; r=0; t=\\d+$`));
  expect(r.headers.get('ratelimit-policy')).to.match(new RegExp(`^"${policy}"; q=${limit}; w=60; pk=:[\\w+/=]+:$`));
  expect(r.headers.get('ratelimit-limit')).to.equal(String(limit));
  expect(r.headers.get('ratelimit-remaining')).to.equal('0');
  expect(Number(r.headers.get('ratelimit-reset'))).to.be.within(1, 60);
}

function expectAllowed(r: HttpResult, policy: 'read' | 'write', remaining: number): void {
  expect(r.status, JSON.stringify(r.body)).to.be.below(400);
  expect(r.headers.get('ratelimit')).to.match(new RegExp(`^"${policy}"; r=${remaining}; t=\\d+$`));
  expect(r.headers.get('ratelimit-remaining')).to.equal(String(remaining));
}

/**
 * Allowed, with `remaining` between the shared count's and the answering instance's own: below half the limit
 * an instance answers from its own hits plus what Redis said at its last sync, until the next sync.
 */
function expectAllowedWithin(r: HttpResult, policy: 'read' | 'write', shared: number, own: number): void {
  expect(r.status, JSON.stringify(r.body)).to.be.below(400);
  const remaining = Number(r.headers.get('ratelimit-remaining'));
  expect(remaining).to.be.within(shared, own);
  expect(r.headers.get('ratelimit')).to.match(new RegExp(`^"${policy}"; r=${remaining}; t=\\d+$`));
}

const order = { items: [{ productId: '0197a4f2-0000-7000-8000-000000000001', quantity: 1 }] };
const randomIp = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}`;

describe('rate limits', function () {
  this.timeout(30_000);

  describe('whose budget a request spends', () => {
    let server: TestServer;
    let hopsServer: TestServer;
    const jwt = testJwt();

    /** The app as every role builds it, with one route that answers the rate-limit key of the request. */
    async function keyEcho(trustProxyHops: number): Promise<TestServer> {
      const router = express.Router();
      const addressOf = clientAddress(trustProxyHops);
      router.get('/', (req, res) => void res.json({ key: rateLimitKey(req, addressOf(req)) }));
      const app = createHttpApp({
        logger: silentLogger,
        metrics: new HttpMetrics('test'),
        jwt,
        bodyLimit: 1024 * 1024,
        readiness: [],
        api: { '/key': router },
        apiKeys: [{ id: 'ci', role: 'admin', secret: 'k'.repeat(40) }],
        trustProxyHops,
      });
      return listen(app);
    }
    const keyOf = async (target: TestServer, headers: Record<string, string> = {}) =>
      (await call(target.url, 'GET', '/api/v1/key', { headers })).body.key as string;

    before(async () => {
      [server, hopsServer] = await Promise.all([keyEcho(0), keyEcho(1)]);
    });
    after(() => Promise.all([server?.close(), hopsServer?.close()]));

    it('is the socket address with trust proxy 0, whatever X-Forwarded-For says', async () => {
      expect(await keyOf(server)).to.equal('ip:127.0.0.1');
      expect(await keyOf(server, { 'x-forwarded-for': '203.0.113.9' })).to.equal('ip:127.0.0.1');
      expect(await keyOf(server, { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' })).to.equal('ip:127.0.0.1');
    });

    it('is the last X-Forwarded-For hop with trust proxy 1, never one the client wrote before it', async () => {
      expect(await keyOf(hopsServer, { 'x-forwarded-for': '203.0.113.9' })).to.equal('ip:203.0.113.9');
      // A client that sends "X-Forwarded-For: forged" reaches us as "forged, <its address>" through our proxy.
      expect(await keyOf(hopsServer, { 'x-forwarded-for': '1.2.3.4, 203.0.113.9' })).to.equal('ip:203.0.113.9');
      expect(await keyOf(hopsServer, { 'x-forwarded-for': '5.6.7.8, 203.0.113.9' })).to.equal('ip:203.0.113.9');
      expect(await keyOf(hopsServer)).to.equal('ip:127.0.0.1'); // no proxy in front: the socket
    });

    it('groups IPv6 clients by /64', async () => {
      const a = await keyOf(hopsServer, { 'x-forwarded-for': '2001:db8:1:2::1' });
      const b = await keyOf(hopsServer, { 'x-forwarded-for': '2001:db8:1:2:ffff:ffff:ffff:fffe' });
      const other = await keyOf(hopsServer, { 'x-forwarded-for': '2001:db8:1:3::1' });
      expect(a).to.equal('ip:2001:db8:1:2::/64');
      expect(b).to.equal(a);
      expect(other).to.not.equal(a);
      // IPv4-mapped addresses stay per address.
      expect(await keyOf(hopsServer, { 'x-forwarded-for': '::ffff:203.0.113.9' })).to.equal('ip:203.0.113.9');
    });

    it('is the user with a bearer token and the API key id with an API key', async () => {
      const token = signToken(jwt, { id: 'alice', role: 'customer' }, 60);
      expect(await keyOf(server, { authorization: `Bearer ${token}` })).to.equal('user:alice');
      expect(await keyOf(server, { 'x-api-key': 'k'.repeat(40) })).to.equal('key:ci');
    });
  });

  describe('in one monolith (memory store)', () => {
    let shop: TestRole;
    const apiKey = randomBytes(24).toString('base64url');

    before(async () => {
      shop = await startTestRole({
        role: 'monolith',
        rateLimitRead: READ_LIMIT,
        rateLimitWrite: WRITE_LIMIT,
        apiKeys: `ci:customer:${apiKey}`,
      });
    });
    after(() => shop?.stop());

    it('answers the N+1th read within the window with 429, RateLimit-* and Retry-After', async () => {
      const token = shop.token({ id: 'reader', role: 'customer' });
      for (let i = 1; i <= READ_LIMIT; i++) {
        expectAllowed(await call(shop.url, 'GET', '/api/v1/orders', { token }), 'read', READ_LIMIT - i);
      }
      expectLimited(await call(shop.url, 'GET', '/api/v1/orders', { token }), 'read', READ_LIMIT);
      expectLimited(await call(shop.url, 'GET', '/api/v1/products', { token }), 'read', READ_LIMIT);
    });

    it('gives writes their own, stricter budget', async () => {
      const token = shop.token({ id: 'writer', role: 'customer' });
      for (let i = 1; i <= WRITE_LIMIT; i++) {
        const r = await call(shop.url, 'POST', '/api/v1/orders', { token, body: order });
        expect(r.status).to.equal(201);
        expect(r.headers.get('ratelimit')).to.match(new RegExp(`^"write"; r=${WRITE_LIMIT - i}; t=\\d+$`));
      }
      expectLimited(await call(shop.url, 'POST', '/api/v1/orders', { token, body: order }), 'write', WRITE_LIMIT);
      expectLimited(await call(shop.url, 'POST', '/api/v1/orders/x/cancel', { token }), 'write', WRITE_LIMIT);
      // Reads are a separate budget, untouched by the writes.
      expectAllowed(await call(shop.url, 'GET', '/api/v1/orders', { token }), 'read', READ_LIMIT - 1);
    });

    it('keeps a bucket per user and per API key', async () => {
      const alice = shop.token({ id: 'alice', role: 'customer' });
      for (let i = 0; i < READ_LIMIT; i++) await call(shop.url, 'GET', '/api/v1/products', { token: alice });
      expectLimited(await call(shop.url, 'GET', '/api/v1/products', { token: alice }), 'read', READ_LIMIT);
      const bob = shop.token({ id: 'bob', role: 'customer' });
      expectAllowed(await call(shop.url, 'GET', '/api/v1/products', { token: bob }), 'read', READ_LIMIT - 1);
      const headers = { 'x-api-key': apiKey };
      expectAllowed(await call(shop.url, 'GET', '/api/v1/products', { headers }), 'read', READ_LIMIT - 1);
    });

    it('does not let a client escape its IP budget by rotating X-Forwarded-For (trust proxy 0)', async () => {
      for (let i = 1; i <= READ_LIMIT; i++) {
        const r = await call(shop.url, 'GET', '/api/v1/products', { headers: { 'x-forwarded-for': randomIp() } });
        expectAllowed(r, 'read', READ_LIMIT - i);
      }
      const r = await call(shop.url, 'GET', '/api/v1/products', { headers: { 'x-forwarded-for': randomIp() } });
      expectLimited(r, 'read', READ_LIMIT);
    });

    it('then counts bad credentials against the IP too, and never limits /health or /metrics', async () => {
      // The anonymous budget of 127.0.0.1 is spent (above): a guessed token or key gets 429 before its 401.
      expectLimited(await call(shop.url, 'GET', '/api/v1/products', { token: 'a.b.c' }), 'read', READ_LIMIT);
      const guess = { 'x-api-key': 'x'.repeat(40) };
      expectLimited(await call(shop.url, 'GET', '/api/v1/products', { headers: guess }), 'read', READ_LIMIT);
      for (const path of ['/health/live', '/health/ready', '/metrics']) {
        const r = await call(shop.url, 'GET', path);
        expect(r.status, path).to.equal(200);
        expect(r.headers.get('ratelimit'), path).to.equal(null);
      }
    });
  });

  describe('across gateway instances sharing Redis', () => {
    let redisUrl: string;
    let prefix: string;
    let redis: Redis;
    let products: StubService;
    let orders: StubService;
    let gateways: TestRole[];

    before(async () => {
      ({ redisUrl } = await integrationServices());
      prefix = uniqueRedisPrefix();
      redis = new Redis(redisUrl, { lazyConnect: true });
      await redis.connect();
      [products, orders] = await Promise.all([startStubService(), startStubService()]);
      const settings = {
        role: 'gateway',
        redisUrl,
        redisKeyPrefix: prefix,
        productUpstreams: products.url,
        orderUpstreams: orders.url,
        rateLimitRead: READ_LIMIT,
        rateLimitWrite: WRITE_LIMIT,
      };
      gateways = await Promise.all([startTestRole(settings), startTestRole(settings)]);
    });
    after(async () => {
      await Promise.all((gateways ?? []).map((g) => g.stop()));
      await Promise.all([products?.close(), orders?.close()]);
      if (redis) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    });

    it('shares one count: the N+1th read over both instances gets 429 from either', async () => {
      const token = gateways[0]!.token({ id: 'shared-reader', role: 'customer' });
      for (let i = 1; i <= READ_LIMIT; i++) {
        const r = await call(gateways[i % 2]!.url, 'GET', '/api/v1/products', { token });
        expectAllowedWithin(r, 'read', READ_LIMIT - i, READ_LIMIT - Math.ceil(i / 2));
      }
      // Counted per instance, each would still have READ_LIMIT - 3 and READ_LIMIT - 2 left.
      for (const gateway of gateways) {
        expectLimited(await call(gateway.url, 'GET', '/api/v1/orders', { token }), 'read', READ_LIMIT);
      }
      const key = `${prefix}rl:read:user:shared-reader`;
      await eventually(async () => Number(await redis.get(key)) === READ_LIMIT + 2 || undefined, 2_000, 'the count');
    });

    it('shares the write budget, and limited writes never reach the service', async () => {
      const token = gateways[0]!.token({ id: 'shared-writer', role: 'customer' });
      const before = orders.hits;
      for (let i = 1; i <= WRITE_LIMIT; i++) {
        const r = await call(gateways[i % 2]!.url, 'POST', '/api/v1/orders', { token, body: order });
        expect(r.status).to.equal(201);
      }
      for (const gateway of gateways) {
        expectLimited(await call(gateway.url, 'POST', '/api/v1/orders', { token, body: order }), 'write', WRITE_LIMIT);
      }
      expect(orders.hits - before).to.equal(WRITE_LIMIT);
    });

    it('does not let rotating X-Forwarded-For escape the limit across instances', async () => {
      for (let i = 1; i <= READ_LIMIT; i++) {
        const headers = { 'x-forwarded-for': randomIp() };
        const r = await call(gateways[i % 2]!.url, 'GET', '/api/v1/products', { headers });
        expectAllowedWithin(r, 'read', READ_LIMIT - i, READ_LIMIT - Math.ceil(i / 2));
      }
      for (const gateway of gateways) {
        const headers = { 'x-forwarded-for': randomIp() };
        expectLimited(await call(gateway.url, 'GET', '/api/v1/products', { headers }), 'read', READ_LIMIT);
      }
    });

    it('sends the hits still counted locally to Redis when an instance stops', async () => {
      const leaving = await startTestRole({
        role: 'gateway',
        redisUrl,
        redisKeyPrefix: prefix,
        productUpstreams: products.url,
        orderUpstreams: orders.url,
        rateLimitRead: 1000,
      });
      const token = leaving.token({ id: 'leaving-reader', role: 'customer' });
      for (let i = 0; i < 3; i++)
        expect((await call(leaving.url, 'GET', '/api/v1/products', { token })).status).to.equal(200);
      await leaving.stop();
      expect(Number(await redis.get(`${prefix}rl:read:user:leaving-reader`))).to.equal(3);
    });
  });

  describe('while Redis is down (fail open, limited per instance)', () => {
    let redisUrl: string;
    let prefix: string;
    let redis: Redis;
    let proxy: TcpProxy;
    let products: StubService;
    let gateway: TestRole;
    const read = (user: string) =>
      call(gateway.url, 'GET', '/api/v1/products', { token: gateway.token({ id: user, role: 'customer' }) });
    const inRedis = async (user: string) => (await redis.exists(`${prefix}rl:read:user:${user}`)) === 1;
    const countOf = async (kind: 'read' | 'write', user: string) =>
      Number(await redis.get(`${prefix}rl:${kind}:user:${user}`));
    const outages = () =>
      gateway.logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('rate limits: shared store'));

    before(async () => {
      ({ redisUrl } = await integrationServices());
      prefix = uniqueRedisPrefix();
      redis = new Redis(redisUrl, { lazyConnect: true });
      await redis.connect();
      proxy = await tcpProxy(new URL(redisUrl));
      await proxy.cut(); // Redis is down when the gateway starts
      products = await startStubService();
      const proxied = new URL(redisUrl);
      proxied.port = String(proxy.port);
      gateway = await startTestRole({
        role: 'gateway',
        redisUrl: proxied.toString(),
        redisKeyPrefix: prefix,
        productUpstreams: products.url,
        orderUpstreams: products.url,
        rateLimitRead: 3,
        rateLimitWrite: 1,
      });
    });
    after(async () => {
      await gateway?.stop();
      await Promise.all([products?.close(), proxy?.cut()]);
      if (redis) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    });

    it('serves requests from the start and still limits them locally', async () => {
      for (let i = 1; i <= 3; i++) expectAllowed(await read('early'), 'read', 3 - i);
      expectLimited(await read('early'), 'read', 3);
      const token = gateway.token({ id: 'early', role: 'customer' });
      expect((await call(gateway.url, 'POST', '/api/v1/orders', { token, body: order })).status).to.equal(201);
      expectLimited(await call(gateway.url, 'POST', '/api/v1/orders', { token, body: order }), 'write', 1);
      expect(await inRedis('early')).to.equal(false);
      // Logged once per store, not once per request: the read and write stores (used here), and the two of keys
      // with a limit of their own if their sync ran meanwhile; nothing worse than a warning.
      const stores = outages().map((l) => String(l.meta?.store));
      expect(new Set(stores).size, stores.join(', ')).to.equal(stores.length);
      expect(stores.filter((s) => /:read:?$|:write:?$/.test(s))).to.have.length(2);
      expect(gateway.logger.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
    });

    it('goes back to the shared count once Redis is back', async () => {
      await proxy.open();
      // A first hit is counted locally and reaches Redis with the next sync.
      const probes: string[] = [];
      await eventually(
        async () => {
          probes.push(`probe-${probes.length}`);
          expect((await read(probes.at(-1)!)).status).to.equal(200);
          for (const user of probes) if (await inRedis(user)) return true;
          return undefined;
        },
        15_000,
        'the rate limits to use Redis again',
      );
      // What was counted while Redis was away reached it too: 3 reads and the refused 4th, a write and its 429.
      await eventually(
        async () => ((await countOf('read', 'early')) === 4 && (await countOf('write', 'early')) === 2) || undefined,
        2_000,
        'the hits counted meanwhile to reach Redis',
      );
      expect(gateway.logger.lines.some((l) => l.message === 'rate limits: shared store available again')).to.equal(
        true,
      );
      for (let i = 1; i <= 3; i++) expectAllowed(await read('back'), 'read', 3 - i);
      expectLimited(await read('back'), 'read', 3);
      const key = `${prefix}rl:read:user:back`;
      await eventually(async () => Number(await redis.get(key)) === 4 || undefined, 2_000, 'the refused hit');
    });

    it('fails open again when Redis goes away under load, with the local limiter limiting', async () => {
      const before = outages().length;
      await proxy.cut();
      for (let i = 1; i <= 3; i++) expectAllowed(await read('late'), 'read', 3 - i);
      expectLimited(await read('late'), 'read', 3);
      expect(await inRedis('late')).to.equal(false);
      expect(outages()).to.have.length(before + 1);
    });

    it('starts, and serves, with Redis unreachable altogether', async () => {
      const alone = await startTestRole({
        role: 'gateway',
        redisUrl: `redis://127.0.0.1:${await closedPort()}`,
        redisKeyPrefix: prefix,
        productUpstreams: products.url,
        orderUpstreams: products.url,
        rateLimitRead: 2,
      });
      try {
        const token = alone.token({ id: 'alone', role: 'customer' });
        expectAllowed(await call(alone.url, 'GET', '/api/v1/products', { token }), 'read', 1);
        expectAllowed(await call(alone.url, 'GET', '/api/v1/products', { token }), 'read', 0);
        expectLimited(await call(alone.url, 'GET', '/api/v1/products', { token }), 'read', 2);
      } finally {
        await alone.stop();
      }
    });
  });
});
