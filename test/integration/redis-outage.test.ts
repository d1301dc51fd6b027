import { expect } from 'chai';
import { call, eventually } from '../support/http.ts';
import { startTestRole, type TestRole, uniqueRedisPrefix } from '../support/roles.ts';
import { integrationServices } from '../support/services.ts';
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

/**
 * Redis is optional for every role (the cache is bypassed, the rate limits count per instance), so losing it
 * must not take the shop down: the services report themselves degraded, not unready, and the gateway keeps
 * them in its rotation.
 */
describe('a Redis outage in split mode', function () {
  this.timeout(30_000);
  let proxy: TcpProxy;
  let product: TestRole;
  let gateway: TestRole;
  let productPath: string;

  before(async () => {
    const { redisUrl } = await integrationServices();
    proxy = await tcpProxy(new URL(redisUrl));
    const proxied = new URL(redisUrl);
    proxied.port = String(proxy.port);
    const shared = { redisUrl: proxied.toString(), redisKeyPrefix: uniqueRedisPrefix() };
    product = await startTestRole({ role: 'product', ...shared });
    gateway = await startTestRole({
      role: 'gateway',
      ...shared,
      productUpstreams: product.url,
      orderUpstreams: product.url,
    });
    const admin = gateway.token({ id: 'outage-admin', role: 'admin' });
    const created = await call(gateway.url, 'POST', '/api/v1/products', {
      token: admin,
      body: { sku: 'OUTAGE-1', name: 'Outage', priceCents: 500, currency: 'EUR', stock: 3 },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    productPath = `/api/v1/products/${created.body.id as string}`;
  });
  after(async () => {
    await gateway?.stop();
    await product?.stop();
    await proxy?.open().catch(() => undefined);
    await proxy?.cut();
  });

  it('reports ready with every check ok while Redis answers', async () => {
    for (const role of [product, gateway]) {
      const r = await call(role.url, 'GET', '/health/ready');
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.include({ status: 'ready' });
      expect(r.body.checks.redis).to.equal('ok');
    }
  });

  it('reports degraded (200, the problem in checks.redis) once Redis is gone, and keeps serving', async () => {
    await proxy.cut();
    for (const role of [product, gateway]) {
      const r = await call(role.url, 'GET', '/health/ready');
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.status).to.equal('degraded');
      expect(r.body.checks.redis).to.match(/^redis: /);
    }
    // Longer than the gateway's active checks need to flip an instance (2 failures, 2 s apart).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const admin = gateway.token({ id: 'outage-admin', role: 'admin' });
    const upstreams = await call(gateway.url, 'GET', '/gateway/upstreams', { token: admin });
    expect(upstreams.body.upstreams.product[0]).to.include({ health: 'healthy' });
    const read = await call(gateway.url, 'GET', productPath);
    expect(read.status, JSON.stringify(read.body)).to.equal(200);
    expect(read.body).to.include({ sku: 'OUTAGE-1', stock: 3 });
  });

  it('reports ready again once Redis is back', async () => {
    await proxy.open();
    await eventually(
      async () => ((await call(product.url, 'GET', '/health/ready')).body.status === 'ready' ? true : undefined),
      10_000,
      'the product service to be ready again',
    );
  });
});
