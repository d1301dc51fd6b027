import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { call, eventually } from '../support/http.ts';
import { type Order, type Product, uniqueSku } from '../support/shop.ts';
import { type SplitTopology, startSplit } from '../support/split.ts';

/** The documented bound on revocation lag across gateway instances (the authenticator's cache TTL, 2 s). */
const REVOCATION_BOUND_MS = 2000;

describe('Managed API keys across two gateway instances (split, MySQL access_db)', function () {
  this.timeout(180_000);
  const bootstrapKey = randomBytes(32).toString('base64url');
  let split: SplitTopology;
  let gatewayB: Awaited<ReturnType<SplitTopology['startAnotherGateway']>>;
  const withKey = (key: string) => ({ headers: { 'x-api-key': key } });

  before(async () => {
    split = await startSplit({ API_KEYS: `bootstrap:admin:${bootstrapKey}` });
    gatewayB = await split.startAnotherGateway();
  });
  after(async () => {
    await gatewayB?.stop();
    await split?.dispose();
  });

  it('a key created on gateway A works on gateway B, through to the services, and B refuses it soon after A revokes it', async () => {
    const created = await call<{ id: string; secret: string }>(split.url, 'POST', '/api/v1/api-keys', {
      ...withKey(bootstrapKey),
      body: { name: 'two gateways', role: 'admin' },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const adminKey = created.body.secret;

    // Proxied through B to the product service, which sees a bearer token B minted, never the key.
    const product = await call<Product>(gatewayB.url, 'POST', '/api/v1/products', {
      ...withKey(adminKey),
      body: { sku: uniqueSku('GWB'), name: 'Via B', priceCents: 250, currency: 'EUR', stock: 5 },
    });
    expect(product.status, `${JSON.stringify(product.body)}\n${gatewayB.logs()}`).to.equal(201);
    expect((await call(gatewayB.url, 'GET', '/api/v1/api-keys', withKey(adminKey))).status).to.equal(200);

    // A customer key places an order through B: the order service records the key's principal.
    const customer = await call<{ id: string; secret: string }>(split.url, 'POST', '/api/v1/api-keys', {
      ...withKey(adminKey),
      body: { name: 'bot', role: 'customer' },
    });
    expect(customer.status).to.equal(201);
    const order = await eventually(
      async () => {
        const r = await call<Order>(gatewayB.url, 'POST', '/api/v1/orders', {
          ...withKey(customer.body.secret),
          body: { items: [{ productId: product.body.id, quantity: 1 }] },
        });
        return r.status === 201 && r.body.status === 'CONFIRMED' ? r : undefined;
      },
      30_000,
      'an order placed with a customer key through B',
    );
    expect(order.body.customerId).to.equal(`apikey:${customer.body.id}`);
    // The services do not take a key themselves (they have no access database) ...
    expect((await call(split.urls.product, 'GET', '/api/v1/products', withKey(adminKey))).status).to.equal(401);
    // ... nor a long-lived token posing as one.
    const posing = split.token({ id: `apikey:${created.body.id}`, role: 'admin' });
    expect((await call(split.urls.product, 'GET', '/api/v1/products', { token: posing })).status).to.equal(401);

    const revoked = await call(split.url, 'POST', `/api/v1/api-keys/${created.body.id}/revoke`, withKey(bootstrapKey));
    expect(revoked.status).to.equal(200);
    const started = Date.now();
    await eventually(
      async () =>
        (await call(gatewayB.url, 'GET', '/api/v1/products', withKey(adminKey))).status === 401 ? true : undefined,
      REVOCATION_BOUND_MS + 5000,
      'gateway B to refuse the revoked key',
    );
    expect(Date.now() - started, 'revocation lag on B').to.be.at.most(REVOCATION_BOUND_MS + 1000);
    expect((await call(split.url, 'GET', '/api/v1/products', withKey(adminKey))).status).to.equal(401);
    expect(
      (
        await call(gatewayB.url, 'POST', '/api/v1/products', {
          ...withKey(adminKey),
          body: { sku: uniqueSku('GWB'), name: 'Refused', priceCents: 1, currency: 'EUR', stock: 1 },
        })
      ).status,
    ).to.equal(401);
  });
});
