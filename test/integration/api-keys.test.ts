import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ConfigError, loadConfig, redact } from '../../src/bootstrap/config.ts';
import { call } from '../support/http.ts';
import { startTestRole, type TestRole } from '../support/roles.ts';
import { expectProblem, type Order, type Product, TEST_SETTINGS, uniqueSku } from '../support/shop.ts';

const secret = () => randomBytes(32).toString('base64url');

describe('API keys', () => {
  const adminKey = secret();
  const customerKey = secret();
  let shop: TestRole;
  const withKey = (key: string, extra: Record<string, string> = {}) => ({ headers: { 'x-api-key': key, ...extra } });
  const newProduct = () => ({ sku: uniqueSku('KEY'), name: 'Keyed', priceCents: 100, currency: 'EUR', stock: 3 });

  before(async () => {
    shop = await startTestRole({
      role: 'monolith',
      ...TEST_SETTINGS,
      apiKeys: `ci-admin:admin:${adminKey}, shop-bot:customer:${customerKey}`,
    });
  });
  after(() => shop?.stop());

  it('authenticates an admin key with its role', async () => {
    const r = await call<Product>(shop.url, 'POST', '/api/v1/products', { ...withKey(adminKey), body: newProduct() });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
  });

  it('authenticates a customer key as principal apikey:<id>, and refuses it admin routes with 403', async () => {
    const created = await call<Product>(shop.url, 'POST', '/api/v1/products', {
      ...withKey(adminKey),
      body: newProduct(),
    });
    const r = await call<Order>(shop.url, 'POST', '/api/v1/orders', {
      ...withKey(customerKey),
      body: { items: [{ productId: created.body.id, quantity: 1 }] },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(r.body.customerId).to.equal('apikey:shop-bot');
    expect((await call(shop.url, 'GET', `/api/v1/orders/${r.body.id}`, withKey(customerKey))).status).to.equal(200);
    expectProblem(
      await call(shop.url, 'POST', '/api/v1/products', { ...withKey(customerKey), body: newProduct() }),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await call(shop.url, 'DELETE', `/api/v1/products/${created.body.id}`, withKey(customerKey)),
      403,
      'FORBIDDEN',
    );
  });

  it('refuses unknown, altered, truncated and empty keys with 401, even on public reads (fail closed)', async () => {
    const altered = `${adminKey.slice(0, -1)}${adminKey.endsWith('A') ? 'B' : 'A'}`;
    for (const key of [secret(), altered, adminKey.slice(0, 32), `${adminKey}x`, '', 'ci-admin', `${adminKey},`]) {
      const r = await call(shop.url, 'GET', '/api/v1/products', withKey(key));
      expectProblem(r, 401, 'INVALID_API_KEY');
      expect(r.headers.get('www-authenticate')).to.equal('ApiKey realm="hexashop"');
    }
  });

  it('refuses a bearer token and an API key together with 400', async () => {
    const token = shop.token({ id: 'admin-1', role: 'admin' });
    const r = await call(shop.url, 'GET', '/api/v1/products', { token, ...withKey(adminKey) });
    expectProblem(r, 400, 'AMBIGUOUS_CREDENTIALS');
  });

  it('refuses a bearer token whose subject poses as an API key', async () => {
    const token = shop.token({ id: 'apikey:ci-admin', role: 'admin' });
    expectProblem(await call(shop.url, 'GET', '/api/v1/products', { token }), 401, 'INVALID_TOKEN');
  });

  it('never writes a key to the log', async () => {
    await call(shop.url, 'GET', '/api/v1/products', withKey(secret()));
    const logged = JSON.stringify(shop.logger.lines);
    for (const key of [adminKey, customerKey]) expect(logged).to.not.include(key);
  });

  it('refuses every key when none is configured', async () => {
    const bare = await startTestRole({ role: 'monolith', ...TEST_SETTINGS });
    try {
      expectProblem(await call(bare.url, 'GET', '/api/v1/products', withKey(adminKey)), 401, 'INVALID_API_KEY');
    } finally {
      await bare.stop();
    }
  });

  describe('configuration', () => {
    const problemsOf = (apiKeys: string) => {
      try {
        loadConfig({ flags: { apiKeys }, env: {} });
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
      throw new Error('the configuration was accepted');
    };

    it('refuses malformed entries, naming the setting but never the value', () => {
      const bad = [
        'ci:admin:too-short-a-secret',
        `ci:root:${secret()}`,
        `ci:service:${secret()}`,
        `ci admin ${secret()}`,
        `:admin:${secret()}`,
        `ci:admin:${secret()} with spaces`,
      ];
      for (const value of bad) {
        const problems = problemsOf(value);
        expect(problems.join('\n'), value).to.include('--api-keys (HEXASHOP_API_KEYS)');
        expect(problems.join('\n')).to.not.include(value.split(':').at(-1)!.slice(0, 12));
      }
    });

    it('refuses duplicate ids or secrets', () => {
      const s = secret();
      expect(problemsOf(`a:admin:${s},a:customer:${secret()}`).join()).to.include('ids must be unique');
      expect(problemsOf(`a:admin:${s},b:customer:${s}`).join()).to.include('secrets must be unique');
    });

    it('is redacted by config print', () => {
      const config = loadConfig({ flags: { apiKeys: `ci:admin:${adminKey}` }, env: {} });
      expect(config.apiKeys).to.deep.equal([{ id: 'ci', role: 'admin', secret: adminKey }]);
      expect(redact(config).apiKeys).to.equal('***');
      expect(JSON.stringify(redact(config))).to.not.include(adminKey);
    });
  });
});
