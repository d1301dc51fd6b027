import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import express from 'express';
import { request } from 'undici';
import { principalOf, signToken } from '../../src/edge/http/auth.ts';
import { type HttpProblem, sendHttpProblem, sendProblem } from '../../src/edge/http/problem.ts';
import { requestIdOf } from '../../src/edge/http/request-context.ts';
import { parseTraceparent } from '../../src/edge/http/trace-context.ts';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/edge/gateway/gateway.router.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { call, eventually } from '../support/http.ts';
import { closedPort, listen, type TestServer, testJwt } from '../support/product-service.ts';
import { expectProblem } from '../support/shop.ts';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Upstream extends TestServer {
  name: string;
  hits: number;
  /** Bytes of the current /upload body received so far. */
  uploaded: number;
  /** Lets the /stream response go on after its first chunk. */
  releaseStream: () => void;
  /** Set when a /hang request's connection closed (the gateway gave up or the client went away). */
  hangClosed: boolean;
}

/** A tiny service instance that tells what it received, plus routes that misbehave on purpose. */
async function startUpstream(name: string): Promise<Upstream> {
  let release: () => void = () => {};
  const state = { hits: 0, uploaded: 0, hangClosed: false };
  const app = express();
  app.get('/health/ready', (_req, res) => void res.json({ status: 'ready' }));
  app.use((_req, _res, next) => {
    state.hits += 1;
    next();
  });
  const readBody = async (req: express.Request) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  app.all(['/api/v1/products/echo{/*rest}', '/api/v1/orders/echo{/*rest}'], async (req, res) => {
    const body = await readBody(req);
    res.json({
      instance: name,
      method: req.method,
      url: req.originalUrl,
      query: req.query,
      headers: req.headers,
      bodyLength: body.length,
      bodySha: sha256(body),
      text: body.length < 10_000 ? body.toString('utf8') : null,
    });
  });
  app.post('/api/v1/products', async (req, res) => {
    const body = JSON.parse((await readBody(req)).toString('utf8')) as Record<string, unknown>;
    res
      .status(201)
      .location('/api/v1/products/0197a4f2-0000-7000-8000-000000000001')
      .set('ETag', '"1"')
      .set('Connection', 'keep-alive, x-hop-response')
      .set('X-Hop-Response', 'must not pass')
      .append('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/'])
      .json({ ...body, id: '0197a4f2-0000-7000-8000-000000000001', instance: name });
  });
  app.get('/api/v1/products/conflict', (_req, res) => {
    res.status(409).type('application/problem+json').json({
      type: 'https://hexashop.dev/problems/sku-taken',
      title: 'Conflict',
      status: 409,
      detail: 'the sku is taken',
      code: 'SKU_TAKEN',
    });
  });
  app.get('/api/v1/orders/empty', (_req, res) => void res.status(204).end());
  app.post('/api/v1/products/upload', async (req, res) => {
    state.uploaded = 0;
    const hash = createHash('sha256');
    for await (const chunk of req) {
      state.uploaded += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    res.json({ bodyLength: state.uploaded, bodySha: hash.digest('hex') });
  });
  app.get('/api/v1/products/stream', async (_req, res) => {
    const gate = new Promise<void>((resolve) => (release = resolve));
    res.type('application/octet-stream');
    res.write(Buffer.alloc(64 * 1024, 1));
    await gate;
    for (let i = 0; i < 16; i++) {
      await new Promise((r) => setTimeout(r, 10));
      res.write(Buffer.alloc(128 * 1024, 2));
    }
    res.end();
  });
  app.get('/api/v1/products/hang', (_req, res) => {
    res.on('close', () => (state.hangClosed = true));
  });
  app.get('/api/v1/products/reset', (req) => void req.socket.destroy());
  // A request the client cut short ends here (quietly: Express would print it).
  app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.destroy();
  });

  const server = await listen(app);
  return {
    ...server,
    name,
    get hits() {
      return state.hits;
    },
    get uploaded() {
      return state.uploaded;
    },
    get hangClosed() {
      return state.hangClosed;
    },
    releaseStream: () => release(),
  };
}

const jwt = testJwt();
const customer = signToken(jwt, { id: 'customer-1', role: 'customer' }, 600);

/**
 * The proxy alone, with what it relies on the role's edge for (a request id, the principal) and without the
 * edge's checks (body type and size, normal form), which gateway-edge.test.ts covers.
 */
async function startGateway(options: Omit<GatewayOptions, 'logger'>): Promise<TestServer & { gateway: Gateway }> {
  const gateway = createGateway({ ...options, logger: silentLogger });
  const server = await listen((req, res) => {
    const route = gateway.route(req.url!);
    if (!route) return sendProblem(res, 404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.url}`);
    req.id = requestIdOf(req);
    res.setHeader('X-Request-Id', req.id);
    try {
      req.principal = principalOf(req, jwt);
    } catch (error) {
      return sendHttpProblem(res, error as HttpProblem);
    }
    void gateway.forward(route, req, res);
  });
  return {
    ...server,
    gateway,
    close: async () => {
      await server.close();
      await gateway.close();
    },
  };
}

/** A raw request (node:http), for headers fetch and undici will not send. */
function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gateway proxy', function () {
  this.timeout(15_000);
  let a: Upstream;
  let b: Upstream;
  let orders: Upstream;
  let front: TestServer & { gateway: Gateway };

  before(async () => {
    [a, b, orders] = await Promise.all([startUpstream('A'), startUpstream('B'), startUpstream('orders')]);
    front = await startGateway({ productUpstreams: [a.url, b.url], orderUpstreams: [orders.url] });
  });
  after(async () => {
    await front?.close();
    await Promise.all([a, b, orders].map((u) => u?.close()));
  });

  it('spreads requests over the instances of a service in turn', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await call(front.url, 'GET', '/api/v1/products/echo');
      expect(r.status).to.equal(200);
      seen.push(r.body.instance);
    }
    expect(seen.filter((n) => n === 'A')).to.have.length(5);
    expect(seen.filter((n) => n === 'B')).to.have.length(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).to.not.equal(seen[i - 1]);
  });

  it('routes orders to the order service and leaves other paths alone', async () => {
    const r = await call(front.url, 'GET', '/api/v1/orders/echo/x?status=PENDING', { token: customer });
    expect(r.body.instance).to.equal('orders');
    expect(r.body.url).to.equal('/api/v1/orders/echo/x?status=PENDING');
    expect((await call(front.url, 'GET', '/api/v1/orders/empty', { token: customer })).status).to.equal(204);
    const before = a.hits + b.hits + orders.hits;
    expectProblem(await call(front.url, 'GET', '/api/v1/productsX'), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await call(front.url, 'GET', '/internal/v1/reservations'), 404, 'ROUTE_NOT_FOUND');
    expect(a.hits + b.hits + orders.hits).to.equal(before);
  });

  it('passes method, path, query, body, Authorization and request id through', async () => {
    const r = await call(front.url, 'PATCH', '/api/v1/products/echo/42?a=1&b=two%20words&a=3', {
      token: customer,
      body: { name: 'renamed' },
      headers: { 'x-request-id': 'req-abc-123', 'if-match': '"7"' },
    });
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ method: 'PATCH', url: '/api/v1/products/echo/42?a=1&b=two%20words&a=3' });
    expect(JSON.parse(r.body.text)).to.deep.equal({ name: 'renamed' });
    const headers = r.body.headers as IncomingHttpHeaders;
    expect(headers.authorization).to.equal(`Bearer ${customer}`);
    expect(headers['content-type']).to.equal('application/json');
    expect(headers['if-match']).to.equal('"7"');
    expect(headers['x-request-id']).to.equal('req-abc-123');
    expect(r.headers.get('x-request-id')).to.equal('req-abc-123');
  });

  it('forwards an absolute-form request target as a path, to the configured instance only', async () => {
    const { port } = new URL(front.url);
    const r = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: 'http://elsewhere.example/api/v1/products/echo?x=1', agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(r.status).to.equal(200);
    expect(r.body.url).to.equal('/api/v1/products/echo?x=1');
  });

  it('passes a traceparent on, and starts one (with a request id) when the client sent none', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const given = await call(front.url, 'GET', '/api/v1/products/echo', {
      headers: { traceparent, tracestate: 'vendor=1' },
    });
    expect(given.body.headers.traceparent).to.equal(traceparent);
    expect(given.body.headers.tracestate).to.equal('vendor=1');

    const fresh = await call(front.url, 'GET', '/api/v1/products/echo');
    expect(parseTraceparent(fresh.body.headers.traceparent), fresh.body.headers.traceparent).to.not.equal(null);
    expect(fresh.body.headers['x-request-id']).to.be.a('string').and.equal(fresh.headers.get('x-request-id'));

    const invalid = await call(front.url, 'GET', '/api/v1/products/echo', {
      headers: { traceparent: 'garbage', tracestate: 'vendor=1' },
    });
    expect(parseTraceparent(invalid.body.headers.traceparent)).to.not.equal(null);
    expect(invalid.body.headers.tracestate).to.equal(undefined);
  });

  it('drops hop-by-hop headers and appends to X-Forwarded-For and -Proto', async () => {
    const r = await rawGet(`${front.url}/api/v1/products/echo`, {
      connection: 'keep-alive, x-hop-secret',
      'x-hop-secret': 'only for the gateway',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-custom': 'kept',
    });
    expect(r.status).to.equal(200);
    const seen = r.body.headers as IncomingHttpHeaders;
    for (const name of ['x-hop-secret', 'keep-alive', 'te', 'proxy-authorization']) {
      expect(seen, name).to.not.have.property(name);
    }
    expect(seen['x-custom']).to.equal('kept');
    expect(seen['x-forwarded-for']).to.equal('203.0.113.9, 127.0.0.1');
    expect(seen['x-forwarded-proto']).to.equal('https, http');
    expect(seen['x-forwarded-host']).to.equal(new URL(front.url).host);
    expect(seen.host).to.not.equal(new URL(front.url).host);
  });

  it('passes status, Location, ETag, cookies and body back, without the upstream’s hop-by-hop headers', async () => {
    const r = await call(front.url, 'POST', '/api/v1/products', { body: { sku: 'S-1' } });
    expect(r.status).to.equal(201);
    expect(r.headers.get('location')).to.equal('/api/v1/products/0197a4f2-0000-7000-8000-000000000001');
    expect(r.headers.get('etag')).to.equal('"1"');
    expect(r.headers.getSetCookie()).to.deep.equal(['a=1; Path=/', 'b=2; Path=/']);
    expect(r.headers.get('x-hop-response')).to.equal(null);
    expect(r.body).to.include({ sku: 'S-1', id: '0197a4f2-0000-7000-8000-000000000001' });
  });

  it('passes an upstream problem+json through as it is', async () => {
    const r = await call(front.url, 'GET', '/api/v1/products/conflict');
    expectProblem(r, 409, 'SKU_TAKEN');
    expect(r.body.detail).to.equal('the sku is taken');
  });

  it('refuses a bad token itself, without calling the service', async () => {
    const before = a.hits + b.hits;
    const r = await call(front.url, 'GET', '/api/v1/products/echo', { token: 'not.a.jwt' });
    expectProblem(r, 401, 'INVALID_TOKEN');
    expect(a.hits + b.hits).to.equal(before);
  });

  it('streams a 2 MiB upload through (the body limit is the services’ business)', async () => {
    const body = randomBytes(2 * MiB);
    const r = await request(`${front.url}/api/v1/products/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${customer}` },
      body,
    });
    expect(r.statusCode).to.equal(200);
    const echoed = (await r.body.json()) as { bodyLength: number; bodySha: string; headers: IncomingHttpHeaders };
    expect(echoed.bodyLength).to.equal(2 * MiB);
    expect(echoed.bodySha).to.equal(sha256(body));
    expect(echoed.headers['content-length']).to.equal(String(2 * MiB));
  });

  it('streams an upload as it comes: the service sees the first chunk before the client sends the next', async () => {
    const chunk = randomBytes(256 * 1024);
    async function* slowBody() {
      for (let i = 1; i <= 4; i++) {
        yield chunk;
        // If the gateway buffered the body, no instance would ever see these bytes and this would time out.
        await eventually(async () => (Math.max(a.uploaded, b.uploaded) >= i * chunk.length ? true : undefined), 5000);
      }
    }
    const r = await request(`${front.url}/api/v1/products/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.from(slowBody()),
    });
    expect(r.statusCode).to.equal(200);
    expect(await r.body.json()).to.deep.equal({
      bodyLength: 4 * chunk.length,
      bodySha: sha256(Buffer.concat([chunk, chunk, chunk, chunk])),
    });
  });

  it('streams a slow download as it comes, not once the service has finished', async () => {
    const r = await request(`${front.url}/api/v1/products/stream`);
    expect(r.statusCode).to.equal(200);
    let received = 0;
    let released = false;
    for await (const piece of r.body) {
      received += (piece as Buffer).length;
      // The first chunk got here while the service still holds the rest back: nothing was buffered.
      if (!released) {
        released = true;
        a.releaseStream();
        b.releaseStream();
      }
    }
    expect(received).to.equal(64 * 1024 + 16 * 128 * 1024);
  });

  it('answers 502 problem+json when the service drops the connection without an answer', async () => {
    const r = await call(front.url, 'GET', '/api/v1/products/reset');
    expectProblem(r, 502, 'BAD_GATEWAY');
  });

  it('cancels the call to the service when the client goes away', async () => {
    // Two requests: round-robin gives each instance one.
    const controller = new AbortController();
    const pending = [1, 2].map(() =>
      fetch(`${front.url}/api/v1/products/hang`, { signal: controller.signal }).catch(() => null),
    );
    await eventually(async () => (a.hits > 0 && b.hits > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await Promise.all(pending);
    await eventually(
      async () => (a.hangClosed && b.hangClosed ? true : undefined),
      3000,
      'the upstream calls to be cancelled',
    );
  });

  it('does not hold an upload the client cut short against the service instance', async () => {
    const failures = () => front.gateway.upstreams.product.snapshot().map((i) => i.consecutiveFailures);
    const before = failures();
    const chunk = randomBytes(64 * 1024);
    async function* cutShort() {
      yield chunk;
      await eventually(async () => (Math.max(a.uploaded, b.uploaded) >= chunk.length ? true : undefined), 5000);
      throw new Error('the client gives up');
    }
    const outcome = await request(`${front.url}/api/v1/products/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.from(cutShort()),
    }).then(
      () => 'answered',
      () => 'failed',
    );
    expect(outcome).to.equal('failed');
    await new Promise((r) => setTimeout(r, 100));
    expect(failures()).to.deep.equal(before);
    expect(front.gateway.upstreams.product.snapshot().map((i) => i.inFlight)).to.deep.equal([0, 0]);
  });
});

describe('gateway proxy, when services fail', function () {
  this.timeout(15_000);

  it('answers 503 problem+json with Retry-After, fast, when no instance is reachable', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const front = await startGateway({ productUpstreams: [dead], orderUpstreams: [dead] });
    try {
      const started = performance.now();
      const first = await call(front.url, 'GET', '/api/v1/products');
      expectProblem(first, 503, 'UPSTREAM_UNAVAILABLE');
      expect(Number(first.headers.get('retry-after'))).to.be.at.least(1);
      // The instance is now ejected: the next request does not even try it.
      const next = await call(front.url, 'POST', '/api/v1/orders', { token: customer, body: { items: [] } });
      expectProblem(await call(front.url, 'GET', '/api/v1/products/x'), 503, 'NO_UPSTREAM_AVAILABLE');
      expectProblem(next, 503, 'UPSTREAM_UNAVAILABLE');
      expect(Number(next.headers.get('retry-after'))).to.be.at.least(1);
      expect(performance.now() - started).to.be.below(1500);
      expect(front.gateway.upstreams.product.snapshot()[0]).to.include({
        health: 'ejected',
        lastFailure: 'ECONNREFUSED',
      });
    } finally {
      await front.close();
    }
  });

  it('leaves a dead instance out of the rotation and keeps serving from the live one', async () => {
    const live = await startUpstream('live');
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const front = await startGateway({ productUpstreams: [dead, live.url], orderUpstreams: [live.url] });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(front.url, 'GET', '/api/v1/products/echo')).status);
      expect(statuses.filter((s) => s === 503)).to.have.length.at.most(1);
      expect(statuses.filter((s) => s === 200)).to.have.length.at.least(5);
    } finally {
      await front.close();
      await live.close();
    }
  });

  it('answers 504 problem+json once the service has not answered within the timeout', async () => {
    const hung = await startUpstream('hung');
    const front = await startGateway({
      productUpstreams: [hung.url],
      orderUpstreams: [hung.url],
      timeouts: { headersMs: 400 },
    });
    try {
      const started = performance.now();
      const r = await call(front.url, 'GET', '/api/v1/products/hang');
      const elapsed = performance.now() - started;
      expectProblem(r, 504, 'UPSTREAM_TIMEOUT');
      expect(elapsed).to.be.within(350, 3000);
      // A timeout is no reason to eject: the instance answered the connection.
      expect(front.gateway.upstreams.product.snapshot()[0]).to.include({ health: 'healthy', consecutiveFailures: 1 });
      await eventually(async () => (hung.hangClosed ? true : undefined), 3000, 'the timed-out call to be closed');
    } finally {
      await front.close();
      await hung.close();
    }
  });
});
