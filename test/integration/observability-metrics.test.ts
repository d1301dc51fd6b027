import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { deleteNamespace } from '../support/kafka.ts';
import {
  allExpressions,
  exportedLabels,
  exportedNames,
  metricNames,
  recordedNames,
  selectors,
} from '../support/observability.ts';
import { startMonolith } from '../support/monolith.ts';
import { startStubService, startTestRole, type StubService, type TestRole } from '../support/roles.ts';
import { integrationServices } from '../support/services.ts';

/** Series Prometheus makes itself for every target. */
const MADE_BY_PROMETHEUS = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];
/**
 * Series a role exports only when configured for them, so none of the roles started here has them:
 * read replicas (--product-db-replica-urls); test/integration/read-replicas.test.ts reads both from a live role.
 */
const ONLY_WHEN_CONFIGURED = ['replica_reads_total', 'replica_lag_seconds'];
/**
 * Labels the scrape adds: the target's `job` and `instance`, and `upstream`, which prometheus.yml makes of
 * the gateway's own `instance` label (the upstream's URL) so that it does not clash with the target's.
 */
const ADDED_BY_PROMETHEUS = ['job', 'instance', 'upstream'];

describe('deploy/observability: metric names', () => {
  let monolith: TestRole;
  let gateway: TestRole;
  /** A monolith on Kafka: only a role with a broker exports the Kafka clients' series (the Kafka dashboard's). */
  let onKafka: TestRole;
  let brokers: string[];
  const namespace = `obsnames-${randomUUID().slice(0, 8)}.`;
  let upstream: StubService;
  let exported: Set<string>;
  let labels: Map<string, Set<string>>;

  before(async function () {
    this.timeout(60_000);
    upstream = await startStubService();
    brokers = (await integrationServices()).kafkaBrokers;
    [monolith, gateway, onKafka] = await Promise.all([
      startMonolith(),
      startTestRole({ role: 'gateway', productUpstreams: upstream.url, orderUpstreams: upstream.url }),
      startMonolith({ bus: 'kafka', kafkaBrokers: brokers.join(','), kafkaNamespace: namespace }),
    ]);
    const roles = [monolith, gateway, onKafka];
    // Some traffic first, so the labelled HTTP series have samples to read their labels from.
    await Promise.all(roles.map((role) => fetch(`${role.url}/api/v1/products`).then((r) => r.text())));
    const pages = await Promise.all(roles.map((role) => fetch(`${role.url}/metrics`)));
    exported = new Set<string>();
    labels = new Map();
    for (const page of pages) {
      expect(page.status).to.equal(200);
      const text = await page.text();
      for (const name of exportedNames(text)) exported.add(name);
      for (const [name, set] of exportedLabels(text)) labels.set(name, new Set([...(labels.get(name) ?? []), ...set]));
    }
  });
  after(async () => {
    await Promise.all([monolith?.stop(), gateway?.stop(), onKafka?.stop(), upstream?.close()]);
    if (brokers) await deleteNamespace(brokers, namespace);
  });

  it('the monoliths and the gateway export the HTTP, runtime, upstream and Kafka metrics the rules build on', () => {
    for (const name of [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
      'gateway_upstream_breaker_state',
      'redis_up',
      'kafka_client_requests_total',
      'kafka_consumer_messages_total',
    ]) {
      expect(exported, name).to.include(name);
    }
  });

  it('every metric the rules and dashboards select is exported, recorded, or made by Prometheus', () => {
    const recorded = recordedNames();
    const unknown = allExpressions().flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name) && !recorded.has(name))
        .filter((name) => !MADE_BY_PROMETHEUS.includes(name) && !ONLY_WHEN_CONFIGURED.includes(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown, unknown.join('\n')).to.deep.equal([]);
  });

  it('every recorded series a rule or dashboard reads is recorded by some rule', () => {
    // A typo in a level:metric:operation name must not pass unnoticed.
    const recorded = recordedNames();
    const missing = allExpressions().flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => name.includes(':') && !recorded.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing, missing.join('\n')).to.deep.equal([]);
  });

  it('every label a selector matches on is one its (exported) metric carries, or one Prometheus adds', () => {
    const wrong = allExpressions().flatMap(({ where, expr }) =>
      selectors(expr).flatMap(({ name, labels: used }) => {
        const carried = labels.get(name);
        if (!carried) return []; // recorded by a rule, or no sample yet
        return used
          .filter((label) => !carried.has(label) && !ADDED_BY_PROMETHEUS.includes(label))
          .map((l) => `${where}: ${name}{${l}}`);
      }),
    );
    expect([...(labels.get('http_requests_total') ?? [])]).to.include.members(['method', 'route', 'status', 'role']);
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });
});
