import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { HttpProductCatalog, ProductServiceErrors } from '../../src/adapters/product-catalog/http-product-catalog.ts';
import { verifyToken } from '../../src/adapters/auth/jwt.ts';
import { continueTrace, parseTraceparent } from '../../src/edge/http/trace-context.ts';
import { InProcessProductCatalog } from '../../src/adapters/product-catalog/in-process-product-catalog.ts';
import { createProduct } from '../../src/modules/product/application/use-cases/create-product.use-case.ts';
import type { ProductPorts } from '../../src/modules/product/application/ports/product-ports.ts';
import type { NewProduct } from '../../src/modules/product/domain/product.ts';
import { DomainError } from '../../src/shared/domain-error.ts';
import { newId } from '../../src/shared/id.ts';
import { call } from '../support/http.ts';
import {
  closedPort,
  listen,
  productDependencies,
  productFacade,
  startProductService,
  testJwt,
} from '../support/product-service.ts';
import { describeProductCatalogContract, type ProductCatalogUnderTest } from './product-catalog.contract.ts';

let skus = 0;
const productInput = (overrides: Partial<NewProduct> = {}): NewProduct => ({
  sku: `CAT-${process.pid}-${++skus}`,
  name: 'Widget',
  description: '',
  priceCents: 1000,
  currency: 'EUR',
  stock: 10,
  ...overrides,
});

function productSide(deps: ProductPorts) {
  return {
    addProduct: (overrides: Partial<NewProduct> = {}) => createProduct(deps, productInput(overrides), 'corr-seed'),
    stockOf: async (id: string) => (await deps.persistence.products.findById(id))?.toProps().stock,
  };
}

describeProductCatalogContract('in-process', async (): Promise<ProductCatalogUnderTest> => {
  const deps = productDependencies();
  return {
    catalog: new InProcessProductCatalog(productFacade(deps)),
    ...productSide(deps),
    dispose: async () => {},
  };
});

describeProductCatalogContract('http', async (): Promise<ProductCatalogUnderTest> => {
  const service = await startProductService();
  const catalog = new HttpProductCatalog({ baseUrl: service.url, jwt: service.jwt });
  return {
    catalog,
    ...productSide(service.deps),
    dispose: async () => {
      await catalog.close();
      await service.close();
    },
  };
});

/** Awaits a call that must fail with an 'unavailable' DomainError; returns it and how long it took. */
async function unavailable(work: () => Promise<unknown>): Promise<{ error: DomainError; ms: number }> {
  const started = performance.now();
  try {
    await work();
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(DomainError);
    expect((error as DomainError).category).to.equal('unavailable');
    return { error: error as DomainError, ms: performance.now() - started };
  }
  return expect.fail('expected the call to fail');
}

/** A fake product service: answers every request with `respond`, keeping what it was sent. */
async function fakeService(respond: (res: express.Response, attempt: number) => void) {
  const seen: { path: string; headers: IncomingHttpHeaders; body: unknown }[] = [];
  const app = express();
  app.use(express.json());
  app.use((req, res) => {
    seen.push({ path: req.path, headers: req.headers, body: req.body });
    respond(res, seen.length);
  });
  return { ...(await listen(app)), seen };
}

describe('HttpProductCatalog over HTTP', function () {
  this.timeout(10_000);
  const jwt = testJwt();
  const items = [{ productId: newId(), quantity: 1 }];

  it('fails fast with PRODUCT_SERVICE_UNAVAILABLE when nothing listens (no hang)', async () => {
    const catalog = new HttpProductCatalog({ baseUrl: `http://127.0.0.1:${await closedPort()}`, jwt });
    try {
      const { error, ms } = await unavailable(() => catalog.reserve(newId(), items, 'corr-down'));
      expect(error.code).to.equal(ProductServiceErrors.unavailable);
      expect(ms).to.be.below(1000);
      const release = await unavailable(() => catalog.release(newId(), 'corr-down'));
      expect(release.error.code).to.equal(ProductServiceErrors.unavailable);
    } finally {
      await catalog.close();
    }
  });

  it('gives up with PRODUCT_SERVICE_UNAVAILABLE at the deadline when the service never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket); // accept, read, never answer
      socket.on('data', () => {});
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const catalog = new HttpProductCatalog({ baseUrl: `http://127.0.0.1:${port}`, jwt, timeoutMs: 400 });
    try {
      const { error, ms } = await unavailable(() => catalog.reserve(newId(), items, 'corr-hung'));
      expect(error.code).to.equal(ProductServiceErrors.unavailable);
      expect(ms).to.be.within(350, 2000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await catalog.close();
    }
  });

  it('retries a 5xx once, then reports PRODUCT_SERVICE_UNAVAILABLE', async () => {
    const fake = await fakeService((res) => void res.status(500).json({ oops: true }));
    const catalog = new HttpProductCatalog({ baseUrl: fake.url, jwt });
    try {
      const { error } = await unavailable(() => catalog.reserve(newId(), items, 'corr-500'));
      expect(error.code).to.equal(ProductServiceErrors.unavailable);
      expect(fake.seen).to.have.length(2);
    } finally {
      await catalog.close();
      await fake.close();
    }
  });

  it('answers from the retry when the first attempt got a 503', async () => {
    const outcome = { status: 'REJECTED', reason: 'UNKNOWN_PRODUCT' };
    const fake = await fakeService((res, attempt) => {
      if (attempt === 1) res.status(503).end();
      else res.json(outcome);
    });
    const catalog = new HttpProductCatalog({ baseUrl: fake.url, jwt });
    try {
      expect(await catalog.reserve(newId(), items, 'corr-503')).to.deep.equal(outcome);
      expect(fake.seen).to.have.length(2);
      expect(fake.seen[0]!.body).to.deep.equal(fake.seen[1]!.body);
    } finally {
      await catalog.close();
      await fake.close();
    }
  });

  it('reports an unexpected 4xx as PRODUCT_SERVICE_REFUSED, without retrying', async () => {
    const fake = await fakeService((res) => void res.status(403).type('application/problem+json').json({}));
    const catalog = new HttpProductCatalog({ baseUrl: fake.url, jwt });
    try {
      const { error } = await unavailable(() => catalog.reserve(newId(), items, 'corr-403'));
      expect(error.code).to.equal(ProductServiceErrors.refused);
      expect(error.message).to.contain('403');
      expect(fake.seen).to.have.length(1);
    } finally {
      await catalog.close();
      await fake.close();
    }
  });

  it('refuses an answer that is not a reservation outcome (PRODUCT_SERVICE_BAD_RESPONSE)', async () => {
    for (const body of ['not json', JSON.stringify({ status: 'RESERVED' }), JSON.stringify({ status: 'MAYBE' })]) {
      const fake = await fakeService((res) => void res.type('application/json').send(body));
      const catalog = new HttpProductCatalog({ baseUrl: fake.url, jwt });
      try {
        const { error } = await unavailable(() => catalog.reserve(newId(), items, 'corr-bad'));
        expect(error.code, body).to.equal(ProductServiceErrors.badResponse);
      } finally {
        await catalog.close();
        await fake.close();
      }
    }
  });

  it('sends a service token (signed once and reused), the correlation id and a traceparent', async () => {
    const fake = await fakeService((res) => void res.json({ status: 'REJECTED', reason: 'UNKNOWN_PRODUCT' }));
    const catalog = new HttpProductCatalog({ baseUrl: `${fake.url}/`, jwt });
    try {
      await catalog.reserve(newId(), items, 'corr-headers-1');
      await catalog.reserve(newId(), items, 'corr-headers-2');
      const [first, second] = fake.seen;
      expect(first!.path).to.equal('/internal/v1/reservations');
      const token = /^Bearer (.+)$/.exec(String(first!.headers.authorization))![1]!;
      expect(verifyToken(jwt, token)).to.deep.equal({ id: 'order-service', role: 'service' });
      expect(second!.headers.authorization).to.equal(first!.headers.authorization);
      expect(first!.headers['x-request-id']).to.equal('corr-headers-1');
      expect(second!.headers['x-request-id']).to.equal('corr-headers-2');
      expect(parseTraceparent(String(first!.headers.traceparent))).to.not.equal(null);
    } finally {
      await catalog.close();
      await fake.close();
    }
  });

  it('continues the trace of the request it serves', async () => {
    const fake = await fakeService((res) => void res.status(204).end());
    const catalog = new HttpProductCatalog({ baseUrl: fake.url, jwt });
    const front = await listen((req, res) =>
      continueTrace(req, res, async () => {
        await catalog.release(newId(), 'corr-trace');
        res.writeHead(204).end();
      }),
    );
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const r = await call(front.url, 'POST', '/cancel', {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(r.status).to.equal(204);
      const sent = parseTraceparent(String(fake.seen[0]!.headers.traceparent));
      expect(sent?.traceId).to.equal(traceId);
      expect(sent?.parentId).to.not.equal('00f067aa0ba902b7');
    } finally {
      await catalog.close();
      await front.close();
      await fake.close();
    }
  });
});

describe('internal reservation API', function () {
  this.timeout(10_000);

  it('is for service tokens only: 401 without a token, 403 for customers and admins', async () => {
    const service = await startProductService();
    try {
      const body = { orderId: newId(), items: [{ productId: newId(), quantity: 1 }] };
      const path = '/internal/v1/reservations';
      expect((await call(service.url, 'POST', path, { body })).status).to.equal(401);
      for (const role of ['customer', 'admin'] as const) {
        const token = service.token({ id: `${role}-1`, role });
        const reserve = await call(service.url, 'POST', path, { token, body });
        expect(reserve.status, role).to.equal(403);
        expect(reserve.headers.get('content-type')).to.match(/^application\/problem\+json/);
        const release = await call(service.url, 'POST', `${path}/${body.orderId}/release`, { token });
        expect(release.status, role).to.equal(403);
      }
    } finally {
      await service.close();
    }
  });

  it('validates the body strictly (400) and answers a valid call (200, 204)', async () => {
    const service = await startProductService();
    const token = service.token({ id: 'order-service', role: 'service' });
    const path = '/internal/v1/reservations';
    try {
      for (const body of [
        {},
        { orderId: 'not-a-uuid', items: [{ productId: newId(), quantity: 1 }] },
        { orderId: newId(), items: [] },
        { orderId: newId(), items: [{ productId: newId(), quantity: 0 }] },
        { orderId: newId(), items: [{ productId: newId(), quantity: 1, price: 1 }] },
        { orderId: newId(), items: [{ productId: newId(), quantity: 1 }], extra: true },
      ]) {
        const r = await call(service.url, 'POST', path, { token, body });
        expect(r.status, JSON.stringify(body)).to.equal(400);
        expect(r.body.code).to.equal('VALIDATION_FAILED');
      }
      expect((await call(service.url, 'POST', `${path}/not-a-uuid/release`, { token })).status).to.equal(400);
      const body = { orderId: newId(), items: [{ productId: newId(), quantity: 1 }] };
      const reserved = await call(service.url, 'POST', path, { token, body });
      expect(reserved.status).to.equal(200);
      expect(reserved.body).to.deep.equal({ status: 'REJECTED', reason: 'UNKNOWN_PRODUCT' });
      expect((await call(service.url, 'POST', `${path}/${body.orderId}/release`, { token })).status).to.equal(204);
    } finally {
      await service.close();
    }
  });
});
