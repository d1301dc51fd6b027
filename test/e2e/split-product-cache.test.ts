import { expect } from 'chai';
import { call, eventually } from '../support/http.ts';
import { type Product, uniqueSku } from '../support/shop.ts';
import { printLogsOnFailure, type SplitTopology, startSplit } from '../support/split.ts';

/**
 * The documented staleness bound of a product read on any instance after a change made on another: the
 * in-process tier's TTL (`--cache-local-ttl-ms`, 1 s by default); the writer drops the Redis entry before it
 * answers, and each instance's own consumer of product-events drops its in-process entry when the event arrives.
 */
const LOCAL_TTL_MS = 1000;
const MARGIN_MS = 1500;

describe('The product cache across two product instances and a gateway (split: MySQL, Kafka, Redis)', function () {
  this.timeout(180_000);
  let split: SplitTopology;
  let admin: string;
  /** Instance B keeps its in-process entries for a minute: only the product event can make it fresh early. */
  const B_LOCAL_TTL_MS = 60_000;

  before(async () => {
    split = await startSplit({}, {}, { extraProducts: [{ CACHE_LOCAL_TTL_MS: String(B_LOCAL_TTL_MS) }] });
    admin = split.token({ id: 'admin', role: 'admin' });
  });
  after(() => split?.dispose());
  afterEach(printLogsOnFailure(() => split));

  /** `cache_requests_total{tier,result="hit"}` of one instance, from its /metrics. */
  const localHits = async (base: string) => {
    const text = (await call<string>(base, 'GET', '/metrics')).body;
    const line = text
      .split('\n')
      .find((l) => /^cache_requests_total\{/.test(l) && /tier="local"/.test(l) && /result="hit"/.test(l));
    return Number(line?.split(' ').at(-1) ?? 0);
  };
  const [gateway, a, b] = [() => split.url, () => split.productUrls[0]!, () => split.productUrls[1]!];
  const read = async (base: string, id: string) => call<Product>(base, 'GET', `/api/v1/products/${id}`);

  /** Reads through the gateway (round robin: both instances) and on each instance, enough to fill every tier. */
  async function warm(id: string) {
    for (let i = 0; i < 6; i++) {
      for (const base of [gateway(), a(), b()]) expect((await read(base, id)).status).to.equal(200);
    }
  }

  /** Polls every read path until none answers `stale` (a predicate), then checks a few more rounds stay fresh. */
  async function freshEverywhere(id: string, stale: (r: { status: number; body: Product }) => boolean, ms: number) {
    const started = Date.now();
    await eventually(
      async () => {
        const reads = await Promise.all([gateway(), gateway(), a(), b()].map((base) => read(base, id)));
        return reads.some(stale) ? undefined : true;
      },
      ms,
      'every read path to answer the change',
    );
    const took = Date.now() - started;
    for (let i = 0; i < 5; i++) {
      for (const base of [gateway(), gateway(), a(), b()]) {
        const r = await read(base, id);
        expect(stale(r), `${base} went back to a stale answer`).to.equal(false);
      }
    }
    return took;
  }

  it('serves an update everywhere within the in-process TTL, and on B (long TTL) once its consumer saw the event', async () => {
    const created = await call<Product>(gateway(), 'POST', '/api/v1/products', {
      token: admin,
      body: { sku: uniqueSku('CACHE'), name: 'Before', priceCents: 100, currency: 'EUR', stock: 5 },
    });
    expect(created.status).to.equal(201);
    const id = created.body.id;
    await warm(id);
    expect(await localHits(b()), 'B answers from its in-process tier').to.be.greaterThan(0);

    // Made on A (the gateway could pick B, which would see its own write): B learns of it from the event only.
    const updated = await call<Product>(a(), 'PATCH', `/api/v1/products/${id}`, {
      token: admin,
      body: { name: 'After' },
    });
    expect(updated.status).to.equal(200);
    const version = updated.body.version;
    // A's entries live 1 s at most; B's a minute, so B is fresh within the bound only through the event.
    const took = await freshEverywhere(id, (r) => r.status !== 200 || r.body.version < version, LOCAL_TTL_MS + 10_000);
    expect(took, 'time until no read path answered the old version').to.be.at.most(LOCAL_TTL_MS + MARGIN_MS);
    expect((await read(b(), id)).body).to.deep.include({ name: 'After', version });
  });

  it('answers 404 everywhere within the bound once the product is deleted', async () => {
    const created = await call<Product>(gateway(), 'POST', '/api/v1/products', {
      token: admin,
      body: { sku: uniqueSku('CACHE'), name: 'Doomed', priceCents: 100, currency: 'EUR', stock: 5 },
    });
    const id = created.body.id;
    await warm(id);
    expect((await call(a(), 'DELETE', `/api/v1/products/${id}`, { token: admin })).status).to.equal(204);
    const took = await freshEverywhere(id, (r) => r.status !== 404, LOCAL_TTL_MS + 10_000);
    expect(took).to.be.at.most(LOCAL_TTL_MS + MARGIN_MS);
  });

  it('keeps reads fresh while orders move the stock (reservations invalidate too)', async () => {
    const created = await call<Product>(gateway(), 'POST', '/api/v1/products', {
      token: admin,
      body: { sku: uniqueSku('CACHE'), name: 'Stocked', priceCents: 100, currency: 'EUR', stock: 50 },
    });
    const id = created.body.id;
    await warm(id);
    // The order service reserves on A (its --product-url); B learns of the stock movement from StockReserved.
    const customer = split.token({ id: 'cust', role: 'customer' });
    const order = await eventually(async () => {
      const r = await call(gateway(), 'POST', '/api/v1/orders', {
        token: customer,
        body: { items: [{ productId: id, quantity: 3 }] },
      });
      return r.status === 201 && r.body.status === 'CONFIRMED' ? r : undefined;
    }, 30_000);
    expect(order.body.status).to.equal('CONFIRMED');
    const took = await freshEverywhere(id, (r) => r.status !== 200 || r.body.stock !== 47, LOCAL_TTL_MS + 10_000);
    expect(took).to.be.at.most(LOCAL_TTL_MS + MARGIN_MS);
  });
});
