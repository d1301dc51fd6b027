/**
 * Issue 11 on a broker: a monolith on Kafka exports its Kafka clients' series (kafkajs instrumentation)
 * with real samples once an order went through: requests per API, consumed messages per contract topic,
 * groups joined with their partitions. And every metric and label the Kafka dashboard selects is on its page.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';
import { call, eventually } from '../support/http.ts';
import { deleteNamespace } from '../support/kafka.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import {
  DASHBOARDS_DIR,
  dashboardExpressions,
  exportedLabels,
  exportedNames,
  metricNames,
  selectors,
} from '../support/observability.ts';
import { integrationServices } from '../support/services.ts';
import { createProduct, drainOutboxes, placeOrder, settled, TEST_SETTINGS, tokens } from '../support/shop.ts';

/** The sum of every sample of `name` whose labels include all of `labels`. */
function sumOf(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    const sample = line.match(/^([^{ #]+)(?:\{(.*)\})? (\S+)$/);
    if (!sample || sample[1] !== name) continue;
    const present = (sample[2] ?? '').split(/,(?=[a-z_]+=")/);
    if (wanted.every((w) => present.includes(w))) sum += Number(sample[3]);
  }
  return sum;
}

/** Every label value `label` takes on the samples of `name`. */
function valuesOf(text: string, name: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const value = line.match(new RegExp(`[{,]${label}="([^"]*)"`))?.[1];
    if (value !== undefined) values.add(value);
  }
  return values;
}

describe('Kafka client metrics in /metrics (a monolith on Kafka)', function () {
  this.timeout(90_000);
  const namespace = `kmetrics-${randomUUID().slice(0, 8)}.`;
  let brokers: string[];
  let platform: TestPlatform;
  let text: string;

  const scrape = async () => {
    const page = await call<string>(platform.url, 'GET', '/metrics');
    expect(page.status).to.equal(200);
    return page.body;
  };

  before(async () => {
    brokers = (await integrationServices()).kafkaBrokers;
    platform = await startMonolith({
      ...TEST_SETTINGS,
      mode: 'async',
      bus: 'kafka',
      kafkaBrokers: brokers.join(','),
      kafkaNamespace: namespace,
    });
    const alice = tokens(platform).customer('kafka-metrics');
    const product = await createProduct(platform, { stock: 5 });
    const placed = await placeOrder(platform, alice, [{ productId: product.id, quantity: 1 }]);
    expect(placed.status, JSON.stringify(placed.body)).to.be.oneOf([201, 202]);
    await drainOutboxes(platform);
    expect((await settled(platform, alice, placed.body.id, 30_000)).status).to.equal('CONFIRMED');
    // A batch is counted once handled, its offsets resolved: wait for both topics' batches to end.
    text = await eventually(
      async () => {
        const page = await scrape();
        const consumed = (topic: string) => sumOf(page, 'kafka_consumer_messages_total', { topic });
        return consumed('order-events') > 0 && consumed('product-events') > 0 ? page : undefined;
      },
      20_000,
      'consumed messages on both topics',
    );
  });
  after(async () => {
    await platform?.stop();
    if (brokers) await deleteNamespace(brokers, namespace);
  });

  it('counts broker requests by client and API, with their latency', () => {
    expect(sumOf(text, 'kafka_client_requests_total', { client: 'producer', api: 'Produce' })).to.be.greaterThan(0);
    expect(sumOf(text, 'kafka_client_requests_total', { client: 'consumer', api: 'Fetch' })).to.be.greaterThan(0);
    expect(sumOf(text, 'kafka_client_requests_total', { client: 'consumer', api: 'JoinGroup' })).to.be.greaterThan(0);
    expect(sumOf(text, 'kafka_client_request_duration_seconds_count', { client: 'producer', api: 'Produce' })).to.equal(
      sumOf(text, 'kafka_client_requests_total', { client: 'producer', api: 'Produce' }),
    );
    expect(sumOf(text, 'kafka_client_request_duration_seconds_sum', { client: 'consumer' })).to.be.greaterThan(0);
    expect(sumOf(text, 'kafka_client_connects_total', { client: 'producer' })).to.be.at.least(1);
    expect(sumOf(text, 'kafka_client_requests_total', { role: 'monolith' })).to.be.greaterThan(0);
  });

  it("counts what each group consumed under the contract's topic and group names (no namespace)", () => {
    expect(
      sumOf(text, 'kafka_consumer_messages_total', { group: 'product-service', topic: 'order-events' }),
    ).to.be.at.least(1);
    expect(
      sumOf(text, 'kafka_consumer_messages_total', { group: 'order-service', topic: 'product-events' }),
    ).to.be.at.least(1);
    expect(sumOf(text, 'kafka_consumer_batch_duration_seconds_count', { group: 'product-service' })).to.be.at.least(1);
    for (const label of ['group', 'topic']) {
      for (const value of valuesOf(text, 'kafka_consumer_messages_total', label)) {
        expect(value, label).to.not.include(namespace);
        expect(value, label).to.not.match(/-[0-9a-f]{8}$/);
      }
    }
    expect([...valuesOf(text, 'kafka_consumer_messages_total', 'group')]).to.include.members([
      'order-service',
      'product-service',
      'product-cache',
    ]);
  });

  it('shows each group joined, with all its partitions, and nothing crashed', () => {
    for (const group of ['order-service', 'product-service', 'product-cache']) {
      expect(sumOf(text, 'kafka_consumer_group_joined', { group }), group).to.equal(1);
      expect(sumOf(text, 'kafka_consumer_group_joins_total', { group }), group).to.be.at.least(1);
      expect(sumOf(text, 'kafka_consumer_crashes_total', { group }), group).to.equal(0);
    }
    expect(
      sumOf(text, 'kafka_consumer_assigned_partitions', { group: 'product-service', topic: 'order-events' }),
    ).to.equal(6);
    expect(sumOf(text, 'kafka_consumer_rebalances_total')).to.be.at.least(0);
  });

  it('every metric and label the Kafka dashboard selects is on this page', () => {
    const names = exportedNames(text);
    const labels = exportedLabels(text);
    const expressions = dashboardExpressions(join(DASHBOARDS_DIR, 'hexashop-kafka.json'));
    expect(expressions.length).to.be.greaterThan(10);
    const unknown = expressions.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !names.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown, unknown.join('\n')).to.deep.equal([]);
    const wrong = expressions.flatMap(({ where, expr }) =>
      selectors(expr).flatMap(({ name, labels: used }) => {
        const carried = labels.get(name);
        if (!carried) return [`${where}: ${name} has no sample`];
        return used.filter((label) => !carried.has(label)).map((l) => `${where}: ${name}{${l}}`);
      }),
    );
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });
});
