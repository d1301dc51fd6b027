import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { signToken } from '../../src/edge/http/auth.ts';
import { HttpMetrics } from '../../src/edge/http/metrics.ts';
import { createHttpApp } from '../../src/edge/http-app.ts';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/edge/gateway/gateway.router.ts';
import type { InstanceSnapshot } from '../../src/edge/gateway/upstream-instance.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { call, eventually } from '../support/http.ts';
import { closedPort, listen, type TestServer, testJwt } from '../support/product-service.ts';
import { expectProblem } from '../support/shop.ts';
import { spawnUpstream, startUpstream, type Upstream } from '../support/upstream.ts';

const jwt = testJwt();
const admin = signToken(jwt, { id: 'admin-1', role: 'admin' }, 600);
const customer = signToken(jwt, { id: 'customer-1', role: 'customer' }, 600);

interface Front extends TestServer {
  gateway: Gateway;
  metrics: HttpMetrics;
  instance(url: string): InstanceSnapshot;
}

/**
 * The gateway role's HTTP app (the same createHttpApp the role uses, with the upstream metrics on its
 * registry) in front of product instances, with checks and back-offs short enough for a test.
 */
async function startGateway(products: string[], overrides: Partial<GatewayOptions> = {}): Promise<Front> {
  const metrics = new HttpMetrics('gateway');
  const gateway = createGateway({
    productUpstreams: products,
    orderUpstreams: products,
    logger: silentLogger,
    registry: metrics.registry,
    health: { intervalMs: 100, timeoutMs: 300 },
    ejection: { baseMs: 200, maxMs: 1000 },
    breaker: { resetTimeoutMs: 500 },
    ...overrides,
  });
  const app = createHttpApp({
    logger: silentLogger,
    metrics,
    jwt,
    bodyLimit: 1024 * 1024,
    readiness: [],
    api: {},
    gateway,
  });
  const server = await listen(app);
  return {
    ...server,
    gateway,
    metrics,
    instance: (url) => gateway.status().product!.find((i) => i.url === url)!,
    close: async () => {
      await server.close();
      await gateway.close();
    },
  };
}

const getProduct = (front: Front, delayMs = 0) =>
  call<{ instance: string }>(
    front.url,
    'GET',
    `/api/v1/products/${randomUUID()}${delayMs ? `?delayMs=${delayMs}` : ''}`,
  );

const hits = async (upstream: Upstream, route: string) => (await upstream.counts()).hits[route] ?? 0;

describe('gateway resilience: pools, health, breakers, retries', function () {
  this.timeout(30_000);
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0).reverse()) await close().catch(() => {});
  });
  const track = <T extends { close?: () => Promise<void>; kill?: () => Promise<void> }>(thing: T): T => {
    cleanup.push(() => (thing.close ?? thing.kill)!.call(thing));
    return thing;
  };

  it('spreads traffic over both instances, keeps every GET answered while one is killed, and takes it back after a restart', async () => {
    const a = track(await spawnUpstream('A'));
    let b = await spawnUpstream('B');
    cleanup.push(() => b.kill());
    const front = track(await startGateway([a.url, b.url]));

    const warmUp = await Promise.all(Array.from({ length: 10 }, () => getProduct(front)));
    expect(new Set(warmUp.map((r) => r.body.instance))).to.deep.equal(new Set(['A', 'B']));

    // 200 GETs, 8 at a time, each taking a few ms upstream, so that some are in flight at B when it dies.
    const served: { status: number; instance: string }[] = [];
    let sent = 0;
    let killed: Promise<void> | undefined;
    const worker = async () => {
      while (sent < 200) {
        sent += 1;
        const r = await getProduct(front, 5);
        served.push({ status: r.status, instance: r.body.instance });
        if (served.length === 50) killed = b.kill();
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await killed;

    expect(served).to.have.length(200);
    expect(
      served.filter((r) => r.status !== 200),
      'GETs retried on A',
    ).to.deep.equal([]);
    expect(served.slice(0, 40).some((r) => r.instance === 'B')).to.equal(true);
    expect(served.slice(-100).every((r) => r.instance === 'A')).to.equal(true);
    expect(front.instance(b.url).counts.retries).to.be.at.least(1);
    await eventually(
      async () => (front.instance(b.url).health === 'unhealthy' ? true : undefined),
      3000,
      'B unhealthy',
    );
    expect(front.instance(b.url).available).to.equal(false);

    b = await spawnUpstream('B', b.port);
    await eventually(async () => (front.instance(b.url).available ? true : undefined), 3000, 'B back in rotation');
    expect(front.instance(b.url).health).to.equal('healthy');
    const after = await Promise.all(Array.from({ length: 10 }, () => getProduct(front)));
    expect(after.map((r) => r.status)).to.deep.equal(Array(10).fill(200));
    expect(after.filter((r) => r.body.instance === 'B')).to.have.length.at.least(3);
  });

  it('opens the breaker of an instance that fails, keeps answering from the other, and closes it once fixed', async () => {
    const a = track(await startUpstream('A'));
    const b = track(await startUpstream('B'));
    // Ejection only after many failures: this test watches the breaker alone.
    const front = track(
      await startGateway([a.url, b.url], {
        breaker: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 500 },
        ejection: { consecutiveFailures: 1000 },
      }),
    );
    await b.setMode('fail');

    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await getProduct(front)).status);
    expect(statuses, 'failed GETs are retried on A').to.deep.equal(Array(20).fill(200));
    expect(await hits(b, 'GET /api/v1/products/:id'), 'B out of the rotation once its breaker opened').to.equal(4);
    const open = await call(front.url, 'GET', '/gateway/upstreams', { token: admin });
    const bState = (open.body.upstreams.product as InstanceSnapshot[]).find((i) => i.url === b.url)!;
    expect(bState).to.include({ breaker: 'open', available: false, health: 'healthy' });
    expect(bState.counts).to.include({ requests: 4, failures: 4, retries: 4 });
    expect(bState.outcomes.server_error).to.equal(4);
    const metrics = await front.metrics.registry.metrics();
    expect(metrics).to.include(
      `gateway_upstream_breaker_state{service="product",instance="${b.url}",role="gateway"} 2`,
    );

    await b.setMode('ok');
    await eventually(async () => (front.instance(b.url).breaker === 'halfOpen' ? true : undefined), 2000, 'half-open');
    // The trial request goes to B and succeeds: the breaker closes and B is back in turn.
    const served = [];
    for (let i = 0; i < 6; i++) served.push((await getProduct(front)).body.instance);
    expect(front.instance(b.url).breaker).to.equal('closed');
    expect(served.filter((n) => n === 'B')).to.have.length.at.least(2);
  });

  it('never retries a write that reached an instance, unless it carries an Idempotency-Key', async () => {
    const a = track(await startUpstream('A'));
    const b = track(await startUpstream('B'));
    const front = track(await startGateway([a.url, b.url], { ejection: { consecutiveFailures: 1000 } }));
    const order = (key?: string) =>
      call(front.url, 'POST', '/api/v1/orders', {
        token: customer,
        body: { items: [{ productId: randomUUID(), quantity: 1 }] },
        ...(key ? { headers: { 'idempotency-key': key } } : {}),
      });

    // B takes the request and dies before answering (the connection drops).
    await b.setMode('crash');
    const plain = [await order(), await order()];
    expect(plain.map((r) => r.status).sort()).to.deep.equal([201, 502]);
    expect(await hits(a, 'POST /api/v1/orders'), 'A got only its own request').to.equal(1);
    expect(await hits(b, 'POST /api/v1/orders')).to.equal(1);

    const keyed = [await order('key-1'), await order('key-2')];
    expect(keyed.map((r) => r.status)).to.deep.equal([201, 201]);
    expect((await a.counts()).keys.sort()).to.deep.equal(['key-1', 'key-2']);
    expect((await b.counts()).keys).to.have.length(1);

    // A 500 is an answer: passed on as it is for a plain write, retried for a keyed one.
    await b.setMode('fail');
    const failing = [await order(), await order()];
    expect(failing.map((r) => r.status).sort()).to.deep.equal([201, 500]);
    expect(await hits(a, 'POST /api/v1/orders')).to.equal(4);
    const retried = [await order('key-3'), await order('key-4')];
    expect(retried.map((r) => r.status)).to.deep.equal([201, 201]);
    expect(await hits(a, 'POST /api/v1/orders')).to.equal(6);
  });

  it('retries any write that never reached an instance, with its whole body', async () => {
    const live = track(await startUpstream('live'));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const front = track(await startGateway([dead, live.url], { health: { intervalMs: 0 } }));
    const body = { sku: 'S-1', name: 'x'.repeat(50_000), priceCents: 100, currency: 'EUR', stock: 1 };
    const length = Buffer.byteLength(JSON.stringify(body));
    // Round-robin starts at the dead instance: the first request is refused there, then sent to the live one.
    const first = await call(front.url, 'POST', '/api/v1/products', { token: admin, body });
    expect(first.status, JSON.stringify(first.body)).to.equal(201);
    expect(first.body).to.include({ instance: 'live', bodyLength: length });
    expect(front.instance(dead)).to.include({ health: 'ejected', lastFailure: 'ECONNREFUSED' });
    expect(front.instance(dead).counts.retries).to.equal(1);
    expect(await hits(live, 'POST /api/v1/products')).to.equal(1);
  });

  it('answers 503 problem+json with Retry-After at once when no instance is healthy', async () => {
    const a = track(await startUpstream('A'));
    const b = track(await startUpstream('B'));
    const front = track(await startGateway([a.url, b.url]));
    await Promise.all([a.setMode('unready'), b.setMode('unready')]);
    await eventually(
      async () => (front.gateway.status().product!.every((i) => i.health === 'unhealthy') ? true : undefined),
      3000,
      'both instances unhealthy',
    );

    const started = performance.now();
    const r = await getProduct(front);
    expect(performance.now() - started).to.be.below(1000);
    expectProblem(r, 503, 'NO_UPSTREAM_AVAILABLE');
    expect(Number(r.headers.get('retry-after'))).to.be.at.least(1);
    expect((await hits(a, 'GET /api/v1/products/:id')) + (await hits(b, 'GET /api/v1/products/:id'))).to.equal(0);

    await a.setMode('ok');
    await eventually(async () => ((await getProduct(front)).status === 200 ? true : undefined), 3000, 'A back');
  });

  it('answers 503 fast when every instance is down, before any health check has noticed', async () => {
    const front = track(
      await startGateway([`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`], {
        health: { intervalMs: 0 },
      }),
    );
    const started = performance.now();
    const first = await getProduct(front);
    const second = await getProduct(front);
    expect(performance.now() - started).to.be.below(1000);
    expectProblem(first, 503, 'UPSTREAM_UNAVAILABLE');
    expectProblem(second, 503, 'NO_UPSTREAM_AVAILABLE');
    expect(Number(second.headers.get('retry-after'))).to.be.at.least(1);
  });

  it('shows every instance to admins at GET /gateway/upstreams and in the metrics', async () => {
    const a = track(await startUpstream('A'));
    const front = track(await startGateway([a.url]));
    await getProduct(front);

    expectProblem(await call(front.url, 'GET', '/gateway/upstreams'), 401);
    expectProblem(await call(front.url, 'GET', '/gateway/upstreams', { token: customer }), 403, 'FORBIDDEN');
    const r = await call(front.url, 'GET', '/gateway/upstreams', { token: admin });
    expect(r.status).to.equal(200);
    expect(r.headers.get('cache-control')).to.equal('no-store');
    const [product] = r.body.upstreams.product as InstanceSnapshot[];
    expect(product).to.include({ url: a.url, health: 'healthy', breaker: 'closed', available: true });
    expect(product!.counts).to.include({ requests: 1, failures: 0, retries: 0, ejections: 0 });
    expect(r.body.upstreams.order).to.have.length(1);

    const metrics = await (await fetch(`${front.url}/metrics`)).text();
    const labels = `service="product",instance="${a.url}",role="gateway"`;
    expect(metrics).to.include(`gateway_upstream_healthy{${labels}} 1`);
    expect(metrics).to.include(`gateway_upstream_breaker_state{${labels}} 0`);
    expect(metrics).to.include(
      `gateway_upstream_requests_total{service="product",instance="${a.url}",outcome="success",role="gateway"} 1`,
    );
  });
});
