import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import { expect } from 'chai';
import { type SqlValue, sqlDatabaseOf } from '../../src/adapters/persistence/mikro-orm/shared/sql.ts';
import { call, eventually, type HttpResult } from '../support/http.ts';
import { startTestRole, type TestRole } from '../support/roles.ts';
import { expectProblem, type Product, TEST_SETTINGS, uniqueSku } from '../support/shop.ts';

interface IssuedKey {
  id: string;
  name: string;
  role: string;
  prefix: string;
  start: string;
  end: string;
  secret: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  graceUntil: string | null;
  rolledTo: string | null;
  previous?: IssuedKey;
}

/** The documented bound on revocation lag (the authenticator's cache TTL, 2 s), with room for a slow machine. */
const REVOCATION_BOUND_MS = 2000;

/**
 * The statements the running monolith sends to its access database, counted on the real connection (the
 * SqlDatabase its repository uses): lookups by hash and `last_used_at` writes.
 */
async function countStatements(shop: TestRole) {
  const orm = await shop.running.container.getAsync<MikroORM>(Symbol.for('access-storage'));
  const db = sqlDatabaseOf(orm);
  const counts = { lookups: 0, usageWrites: [] as SqlValue[][] };
  const { get, run } = db;
  db.get = (sql: string, params?: readonly SqlValue[]) => {
    if (sql.includes('from api_keys where hash')) counts.lookups++;
    return get.call(db, sql, params);
  };
  db.run = (sql: string, params?: readonly SqlValue[]) => {
    if (sql.startsWith('update api_keys set last_used_at')) counts.usageWrites.push([...(params ?? [])]);
    return run.call(db, sql, params);
  };
  return counts;
}

describe('Managed API keys (monolith)', function () {
  this.timeout(60_000);
  const bootstrapKey = randomBytes(32).toString('base64url');
  let shop: TestRole;
  let counts: Awaited<ReturnType<typeof countStatements>>;
  const key = (secret: string, extra: Record<string, string> = {}) => ({ headers: { 'x-api-key': secret, ...extra } });
  const admin = () => key(bootstrapKey);
  const create = async (body: Record<string, unknown>) => {
    const r = await call<IssuedKey>(shop.url, 'POST', '/api/v1/api-keys', { ...admin(), body });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body;
  };
  const read = (secret: string) => call(shop.url, 'GET', '/api/v1/products?limit=1', key(secret));
  const refusedWithin = async (secret: string, ms: number) => {
    const started = Date.now();
    const refused = await eventually(
      async () => ((await read(secret)).status === 401 ? Date.now() - started : undefined),
      ms + 3000,
      'the key to be refused',
    );
    expect(refused).to.be.at.most(ms + 1000);
  };

  before(async () => {
    shop = await startTestRole({ role: 'monolith', ...TEST_SETTINGS, apiKeys: `bootstrap:admin:${bootstrapKey}` });
    counts = await countStatements(shop);
  });
  after(() => shop?.stop());

  it('creates a key with the bootstrap admin key, shows its secret once, and the key works with its role', async () => {
    const r = await call<IssuedKey>(shop.url, 'POST', '/api/v1/api-keys', {
      ...admin(),
      body: { name: 'ci deploys', role: 'admin' },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(r.headers.get('location')).to.equal(`/api/v1/api-keys/${r.body.id}`);
    expect(r.headers.get('cache-control')).to.equal('no-store');
    expect(r.body.secret).to.match(/^hxs_live_[0-9A-Za-z]{30}$/);
    expect(r.body).to.include({ name: 'ci deploys', role: 'admin', prefix: 'hxs_live_' });
    expect(r.body.start).to.equal(r.body.secret.slice(9, 13));
    expect(r.body.end).to.equal(r.body.secret.slice(-4));
    expect(r.body).to.not.have.property('hash');

    const product = await call<Product>(shop.url, 'POST', '/api/v1/products', {
      ...key(r.body.secret),
      body: { sku: uniqueSku('AK'), name: 'Keyed', priceCents: 100, currency: 'EUR', stock: 1 },
    });
    expect(product.status, JSON.stringify(product.body)).to.equal(201);

    const customer = await create({ name: 'shop bot', role: 'customer' });
    expect((await read(customer.secret)).status).to.equal(200);
    expectProblem(await call(shop.url, 'GET', '/api/v1/api-keys', key(customer.secret)), 403, 'FORBIDDEN');
    expectProblem(
      await call(shop.url, 'POST', '/api/v1/api-keys', { ...key(customer.secret), body: { name: 'x', role: 'admin' } }),
      403,
      'FORBIDDEN',
    );
    const customerToken = shop.token({ id: 'user-1', role: 'customer' });
    expectProblem(await call(shop.url, 'GET', '/api/v1/api-keys', { token: customerToken }), 403, 'FORBIDDEN');
    expectProblem(await call(shop.url, 'GET', '/api/v1/api-keys'), 401);
    // An admin user's token manages keys too.
    const adminToken = shop.token({ id: 'admin-1', role: 'admin' });
    expect((await call(shop.url, 'GET', '/api/v1/api-keys', { token: adminToken })).status).to.equal(200);
  });

  it('lists keys page by page, never with their secret or hash, and reads one by id', async () => {
    const made = [await create({ name: 'list a', role: 'customer' }), await create({ name: 'list b', role: 'admin' })];
    const all: IssuedKey[] = [];
    let cursor: string | null = null;
    do {
      const page: HttpResult<{ items: IssuedKey[]; nextCursor: string | null }> = await call(
        shop.url,
        'GET',
        `/api/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        admin(),
      );
      expect(page.status).to.equal(200);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const listed = JSON.stringify(all);
    for (const m of made) {
      expect(listed).to.not.include(m.secret);
      expect(all.map((k) => k.id)).to.include(m.id);
    }
    for (const k of all) expect(k).to.not.have.any.keys('secret', 'hash');
    const one = await call<IssuedKey>(shop.url, 'GET', `/api/v1/api-keys/${made[0]!.id}`, admin());
    expect(one.status).to.equal(200);
    expect(one.body).to.include({ id: made[0]!.id, name: 'list a', start: made[0]!.start });
    expect(one.body).to.not.have.any.keys('secret', 'hash');
    expectProblem(
      await call(shop.url, 'GET', '/api/v1/api-keys/0190d6a0-0000-7000-8000-000000000000', admin()),
      404,
      'API_KEY_NOT_FOUND',
    );
  });

  it('refuses unknown fields, mass assignment and bad values with 400', async () => {
    const bad = [
      { name: 'x', role: 'admin', hash: 'a'.repeat(64) },
      { name: 'x', role: 'admin', id: '0190d6a0-0000-7000-8000-000000000000' },
      { name: 'x', role: 'admin', revokedAt: null },
      { name: 'x', role: 'admin', lastUsedAt: new Date().toISOString() },
      { name: 'x', role: 'service' },
      { name: '', role: 'admin' },
      { name: 'x', role: 'admin', rateLimitPerMinute: 0 },
      { name: 'x', role: 'admin', expiresAt: 'tomorrow' },
    ];
    for (const body of bad) {
      expectProblem(await call(shop.url, 'POST', '/api/v1/api-keys', { ...admin(), body }), 400);
    }
    const past = new Date(Date.now() - 1000).toISOString();
    expectProblem(
      await call(shop.url, 'POST', '/api/v1/api-keys', {
        ...admin(),
        body: { name: 'x', role: 'admin', expiresAt: past },
      }),
      400,
    );
    const k = await create({ name: 'roll bad', role: 'admin' });
    for (const body of [
      {},
      { gracePeriodSeconds: -1 },
      { gracePeriodSeconds: 7 * 86400 + 1 },
      { gracePeriodSeconds: 1, x: 1 },
    ]) {
      expectProblem(await call(shop.url, 'POST', `/api/v1/api-keys/${k.id}/roll`, { ...admin(), body }), 400);
    }
    expectProblem(
      await call(shop.url, 'POST', `/api/v1/api-keys/${k.id}/revoke`, { ...admin(), body: { revokedAt: null } }),
      400,
    );
  });

  it('rolls a key: the old one works within the grace period and is refused after it; the new one works', async () => {
    const old = await create({ name: 'rolled', role: 'customer' });
    expect((await read(old.secret)).status).to.equal(200);
    const r = await call<IssuedKey>(shop.url, 'POST', `/api/v1/api-keys/${old.id}/roll`, {
      ...admin(),
      body: { gracePeriodSeconds: 3 },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(r.body.secret)
      .to.match(/^hxs_live_/)
      .and.not.equal(old.secret);
    expect(r.body).to.include({ name: 'rolled', role: 'customer' });
    expect(r.body.previous).to.include({ id: old.id, rolledTo: r.body.id });
    expect(r.body.previous!.graceUntil).to.be.a('string');
    expect((await read(old.secret)).status, 'within the grace period').to.equal(200);
    expect((await read(r.body.secret)).status).to.equal(200);
    expectProblem(
      await call(shop.url, 'POST', `/api/v1/api-keys/${old.id}/roll`, { ...admin(), body: { gracePeriodSeconds: 0 } }),
      409,
      'API_KEY_ROLLED',
    );
    await eventually(async () => ((await read(old.secret)).status === 401 ? true : undefined), 10_000, 'grace end');
    expectProblem(await read(old.secret), 401, 'INVALID_API_KEY');
    expect((await read(r.body.secret)).status).to.equal(200);
  });

  it('revokes a key: refused within the cache bound, and revoking again changes nothing', async () => {
    const k = await create({ name: 'revoked', role: 'admin' });
    expect((await read(k.secret)).status).to.equal(200);
    const r = await call<IssuedKey>(shop.url, 'POST', `/api/v1/api-keys/${k.id}/revoke`, admin());
    expect(r.status).to.equal(200);
    expect(r.body.revokedAt).to.be.a('string');
    await refusedWithin(k.secret, REVOCATION_BOUND_MS);
    const again = await call<IssuedKey>(shop.url, 'POST', `/api/v1/api-keys/${k.id}/revoke`, { ...admin(), body: {} });
    expect(again.status).to.equal(200);
    expect(again.body.revokedAt).to.equal(r.body.revokedAt);
    expectProblem(
      await call(shop.url, 'POST', `/api/v1/api-keys/${k.id}/roll`, { ...admin(), body: { gracePeriodSeconds: 5 } }),
      409,
      'API_KEY_REVOKED',
    );
  });

  it('refuses an expired key', async () => {
    const k = await create({ name: 'short', role: 'customer', expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await read(k.secret)).status).to.equal(200);
    await eventually(async () => ((await read(k.secret)).status === 401 ? true : undefined), 5000, 'expiry');
  });

  it('refuses malformed keys and bad checksums with 401 without a database lookup', async () => {
    const good = (await create({ name: 'checksum', role: 'customer' })).secret;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    const before = counts.lookups;
    const malformed = [
      flip(good, good.length - 1), // the checksum
      flip(good, 12), // the random part: the checksum no longer matches
      good.slice(0, -1),
      `${good}0`,
      good.replace('hxs_live_', 'hxs_test_'),
      'hxs_live_',
      'not-a-key',
    ];
    for (const presented of malformed) {
      const r = await read(presented);
      expectProblem(r, 401, 'INVALID_API_KEY');
      expect(r.headers.get('www-authenticate')).to.equal('ApiKey realm="hexashop"');
    }
    expect(counts.lookups - before, 'lookups for malformed keys').to.equal(0);
    // A well-formed key nobody issued costs one lookup, then its refusal is cached.
    const body = `hxs_live_${'Z'.repeat(24)}`;
    const { checksumOf } = await import('../../src/modules/access/domain/api-key-format.ts');
    const unknown = `${body}${checksumOf(body)}`;
    expectProblem(await read(unknown), 401, 'INVALID_API_KEY');
    expectProblem(await read(unknown), 401, 'INVALID_API_KEY');
    expect(counts.lookups - before).to.equal(1);
  });

  it('records last use in batches, not one write per request', async () => {
    const k = await create({ name: 'busy', role: 'customer' });
    const writesFor = () => counts.usageWrites.filter((params) => params[1] === k.id).length;
    for (let i = 0; i < 50; i++) expect((await read(k.secret)).status).to.equal(200);
    expect(writesFor(), 'writes during 50 requests').to.be.at.most(2);
    const used = await eventually(
      async () => {
        const r = await call<IssuedKey>(shop.url, 'GET', `/api/v1/api-keys/${k.id}`, admin());
        return r.body.lastUsedAt ?? undefined;
      },
      15_000,
      'lastUsedAt to be written',
    );
    expect(Date.parse(used)).to.be.closeTo(Date.now(), 15_000);
    expect(writesFor(), 'writes for 50 requests').to.be.at.most(2);
  });

  it('limits a key to its own rate limit without touching another key', async () => {
    const limited = await create({ name: 'slow', role: 'customer', rateLimitPerMinute: 3 });
    const other = await create({ name: 'fast', role: 'customer' });
    for (let i = 0; i < 3; i++) expect((await read(limited.secret)).status).to.equal(200);
    const refused = await read(limited.secret);
    expectProblem(refused, 429, 'RATE_LIMITED');
    expect(refused.headers.get('retry-after')).to.match(/^\d+$/);
    expect(refused.headers.get('ratelimit-limit')).to.equal('3');
    for (let i = 0; i < 6; i++) expect((await read(other.secret)).status).to.equal(200);
    // Writes have their own budget with the same limit.
    const write = () => call(shop.url, 'POST', '/api/v1/orders', { ...key(limited.secret), body: { items: [] } });
    for (let i = 0; i < 3; i++) expect((await write()).status).to.not.equal(429);
    expectProblem(await write(), 429, 'RATE_LIMITED');
  });
});
