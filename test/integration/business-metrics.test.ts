import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { call } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import { absentId, createProduct, drainOutboxes, placeOrder, settled, TEST_SETTINGS, tokens } from '../support/shop.ts';

/** The value of one series in Prometheus text: `name{…labels…} value`, every given label present; 0 if absent. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const braces = line.match(/^[^{ ]+(?:\{(.*)\})? (\S+)$/);
    if (!braces) continue;
    const present = (braces[1] ?? '').split(/,(?=[a-z_]+=")/);
    if (wanted.every((w) => present.includes(w))) return Number(braces[2]);
  }
  return 0;
}

/** What promtool says of prom-client's default metrics whatever we do: gauges whose names end in _total. */
const KNOWN_DEFAULT_METRIC_LINTS =
  /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

async function scrape(platform: TestPlatform): Promise<string> {
  const r = await call<string>(platform.url, 'GET', '/metrics');
  expect(r.status).to.equal(200);
  return r.body;
}

describe('business and reliability metrics in /metrics (monolith)', () => {
  let platform: TestPlatform;
  let text: string;
  const customer = `metrics-${Date.now().toString(36)}`;

  before(async () => {
    platform = await startMonolith({ ...TEST_SETTINGS, mode: 'sync' });
    const { admin } = tokens(platform);
    const alice = tokens(platform).customer(customer);

    const product = await createProduct(platform, { priceCents: 700, currency: 'EUR', stock: 20 });
    const patched = await call(platform.url, 'PATCH', `/api/v1/products/${product.id}`, {
      token: admin,
      body: { name: 'Renamed widget' },
    });
    expect(patched.status).to.equal(200);
    await createProduct(platform, { stock: 3 }); // low stock: 10 or fewer
    const doomed = await createProduct(platform);
    expect((await call(platform.url, 'DELETE', `/api/v1/products/${doomed.id}`, { token: admin })).status).to.equal(
      204,
    );

    // A miss then a hit: the second read is served from the cache.
    for (let i = 0; i < 2; i++)
      expect((await call(platform.url, 'GET', `/api/v1/products/${product.id}`)).status).to.equal(200);

    const sync = await placeOrder(platform, alice, [{ productId: product.id, quantity: 2 }], {
      headers: { 'idempotency-key': 'metrics-key-1' },
    });
    expect(sync.status, JSON.stringify(sync.body)).to.equal(201);
    expect(sync.body.status).to.equal('CONFIRMED');
    const replay = await placeOrder(platform, alice, [{ productId: product.id, quantity: 2 }], {
      headers: { 'idempotency-key': 'metrics-key-1' },
    });
    expect(replay.body.id).to.equal(sync.body.id);

    const async = await placeOrder(platform, alice, [{ productId: product.id, quantity: 1 }], { query: '?mode=async' });
    expect(async.status, JSON.stringify(async.body)).to.equal(202);
    expect((await settled(platform, alice, async.body.id)).status).to.equal('CONFIRMED');

    const unknown = await placeOrder(platform, alice, [{ productId: absentId(), quantity: 1 }]);
    expect(unknown.body.status).to.equal('REJECTED');
    expect(unknown.body.rejectionReason).to.equal('UNKNOWN_PRODUCT');

    const cancelled = await call(platform.url, 'POST', `/api/v1/orders/${sync.body.id}/cancel`, { token: alice });
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);

    await drainOutboxes(platform);
    text = await scrape(platform);
  });
  after(() => platform.dispose());

  it('counts orders placed by mode, not their idempotent replays', () => {
    expect(valueOf(text, 'orders_placed_total', { mode: 'sync', role: 'monolith' })).to.equal(2);
    expect(valueOf(text, 'orders_placed_total', { mode: 'async' })).to.equal(1);
    expect(valueOf(text, 'idempotent_replays_total')).to.equal(1);
  });

  it('counts confirmations with their value, rejections by code, and cancellations', () => {
    expect(valueOf(text, 'orders_confirmed_total')).to.equal(2);
    expect(valueOf(text, 'order_value_cents_total', { currency: 'EUR' })).to.equal(3 * 700);
    expect(valueOf(text, 'orders_rejected_total', { reason: 'UNKNOWN_PRODUCT' })).to.equal(1);
    expect(valueOf(text, 'orders_cancelled_total')).to.equal(1);
  });

  it('counts stock reservations by outcome and times them', () => {
    expect(valueOf(text, 'stock_reservations_total', { outcome: 'reserved' })).to.equal(2);
    expect(valueOf(text, 'stock_reservations_total', { outcome: 'rejected' })).to.equal(1);
    expect(valueOf(text, 'stock_reservation_duration_seconds_count')).to.equal(3);
  });

  it('counts product changes', () => {
    expect(valueOf(text, 'products_changed_total', { change: 'created' })).to.equal(3);
    expect(valueOf(text, 'products_low_stock')).to.equal(1);
    expect(valueOf(text, 'products_changed_total', { change: 'updated' })).to.equal(1);
    expect(valueOf(text, 'products_changed_total', { change: 'deleted' })).to.equal(1);
  });

  it('counts cache hits and misses, by tier (the monolith has no Redis: the in-process tier alone)', () => {
    expect(valueOf(text, 'cache_requests_total', { tier: 'local', result: 'hit' })).to.be.at.least(1);
    expect(valueOf(text, 'cache_requests_total', { tier: 'local', result: 'miss' })).to.be.at.least(1);
    expect(text).not.to.match(/^cache_requests_total\{[^}]*tier="redis"/m);
  });

  it('reports the outboxes and what the relays published', () => {
    for (const database of ['product', 'order']) {
      expect(text).to.match(new RegExp(`^outbox_pending_events\\{[^}]*database="${database}"`, 'm'));
      expect(text).to.match(new RegExp(`^outbox_oldest_pending_age_seconds\\{[^}]*database="${database}"`, 'm'));
      expect(valueOf(text, 'relay_published_events_total', { database })).to.be.greaterThan(0);
      expect(valueOf(text, 'relay_failures_total', { database })).to.equal(0);
    }
    // Drained: nothing due is left (the sync orders' crash guards were withdrawn when they settled).
    expect(valueOf(text, 'outbox_pending_events', { database: 'order' })).to.equal(0);
    expect(valueOf(text, 'outbox_pending_events', { database: 'product' })).to.equal(0);
  });

  it('is valid Prometheus exposition (promtool check metrics)', function () {
    const probe = spawnSync('promtool', ['--version']);
    if (probe.error) throw new Error('promtool is missing: apt-get install -y prometheus (.ci/run installs it)');
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const findings = `${checked.stdout}${checked.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '')
      // prom-client's own default runtime gauges (not ours; renaming them would break every Node dashboard).
      .filter((line) => !KNOWN_DEFAULT_METRIC_LINTS.test(line));
    expect(findings, findings.join('\n')).to.deep.equal([]);
    // 0: clean; 3: lint findings only (all of them the known ones above); 1 would be a parse error.
    expect(checked.status).to.be.oneOf([0, 3]);
  });
});

describe('rate-limit refusals in /metrics', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startMonolith({ rateLimitRead: 2, rateLimitWrite: 1_000 });
  });
  after(() => platform.dispose());

  it('counts each 429 under its policy', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(platform.url, 'GET', '/api/v1/products')).status);
    expect(statuses.filter((s) => s === 429)).to.have.length(2);
    const text = await scrape(platform);
    expect(valueOf(text, 'rate_limit_refusals_total', { policy: 'read' })).to.equal(2);
    expect(valueOf(text, 'rate_limit_refusals_total', { policy: 'write' })).to.equal(0);
  });
});
