import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { call, eventually } from '../support/http.ts';
import { traceIdOf } from '../support/log-capture.ts';
import { type CollectedSpan, SpanKinds, startOtlpCollector } from '../support/otlp-collector.ts';
import { printLogsOnFailure, type SplitRole, type SplitTopology, startSplit } from '../support/split.ts';

/**
 * Issue 11: one trace from the client's request through the gateway, the order service, Kafka, the product
 * service, Kafka again and back. The three roles are real processes on MySQL and Kafka sending spans over
 * OTLP to a collector; the client sends a traceparent, and every span and every log line of its order, in
 * every process, is in that trace.
 */
describe('traces across processes (split roles exporting spans over OTLP)', function () {
  this.timeout(180_000);
  const ROLES: SplitRole[] = ['gateway', 'order', 'product'];
  let collector: Awaited<ReturnType<typeof startOtlpCollector>>;
  let split: SplitTopology;
  let admin: string;
  let alice: string;

  before(async () => {
    collector = await startOtlpCollector();
    split = await startSplit({ OTLP_ENDPOINT: collector.url, LOG_LEVEL: 'debug' });
    admin = split.token({ id: 'root', role: 'admin' });
    alice = split.token({ id: 'alice', role: 'customer' });
  });
  after(async () => {
    await split?.dispose();
    await collector?.close();
  });
  afterEach(printLogsOnFailure(() => split));

  const hex = (bytes: number) => randomBytes(bytes).toString('hex');

  /** A client's request in a trace of its own, with a request id (the correlation id of what it causes). */
  async function traced(path: string, body: unknown, headers: Record<string, string> = {}) {
    const trace = { traceId: hex(16), clientSpan: hex(8), correlationId: randomUUID() };
    const answer = await call(split.url, 'POST', path, {
      token: alice,
      body,
      headers: {
        ...headers,
        traceparent: `00-${trace.traceId}-${trace.clientSpan}-01`,
        'x-request-id': trace.correlationId,
      },
    });
    return { answer, ...trace };
  }

  async function product(stock: number) {
    const created = await call(split.url, 'POST', '/api/v1/products', {
      token: admin,
      body: { sku: `TRACE-${hex(4)}`, name: 'Traced thing', priceCents: 250, currency: 'EUR', stock },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    return created.body.id as string;
  }

  const inTrace = (traceId: string) => collector.spans.filter((s) => s.traceId === traceId);
  const has = (spans: CollectedSpan[], service: string, kind: number, name: RegExp) =>
    spans.some((s) => s.service === `hexashop-${service}` && s.kind === kind && name.test(s.name));

  /** The client's POST as the gateway served and forwarded it, and as the order service served it. */
  const throughGateway = (spans: CollectedSpan[]) =>
    has(spans, 'gateway', SpanKinds.server, /^POST \/api\/v1\/orders/) &&
    has(spans, 'gateway', SpanKinds.client, /^POST$/) &&
    has(spans, 'order', SpanKinds.server, /^POST \/api\/v1\/orders$/);

  /** Every log line, of every role, written for this correlation id. */
  const logLines = (correlationId: string) =>
    ROLES.flatMap((role) =>
      split
        .logs(role)
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line): Record<string, unknown> => ({ ...(JSON.parse(line) as Record<string, unknown>), role }))
        .filter((line) => line.correlationId === correlationId),
    );

  /** Every span of the trace hangs from the client's span or from another span of it: no hole, no second root. */
  function expectConnected(spans: CollectedSpan[], clientSpan: string) {
    const ids = new Set(spans.map((s) => s.spanId));
    const orphans = spans.filter((s) => s.parentSpanId !== clientSpan && !ids.has(s.parentSpanId));
    expect(
      orphans.map((s) => `${s.service} ${s.name}`),
      'spans whose parent is not in the trace',
    ).to.deep.equal([]);
    expect(spans.filter((s) => s.parentSpanId === clientSpan).map((s) => s.service)).to.deep.equal([
      'hexashop-gateway',
    ]);
  }

  /** Spans that name the correlation id belong to its trace; so do the log lines that name it. */
  function expectEverythingInTrace(correlationId: string, traceId: string) {
    const named = collector.spans.filter((s) => s.attributes['hexashop.correlation_id'] === correlationId);
    expect(named.length).to.be.greaterThan(0);
    expect(named.filter((s) => s.traceId !== traceId).map((s) => `${s.service} ${s.name}`)).to.deep.equal([]);
    const lines = logLines(correlationId);
    expect(lines.length, 'log lines of the order').to.be.greaterThan(0);
    const stray = lines.filter((line) => traceIdOf(line.traceparent) !== traceId);
    expect(stray, 'log lines of the order outside its trace').to.deep.equal([]);
    return lines;
  }

  it('follows an async order through gateway, order, Kafka, product, Kafka and back', async () => {
    const productId = await product(5);
    const { answer, traceId, clientSpan, correlationId } = await traced(
      '/api/v1/orders',
      { items: [{ productId, quantity: 2 }] },
      { prefer: 'respond-async' },
    );
    expect(answer.status).to.equal(202);
    await eventually(
      async () => {
        const order = await call(split.url, 'GET', `/api/v1/orders/${answer.body.id}`, { token: alice });
        return order.body.status === 'CONFIRMED' ? true : undefined;
      },
      60_000,
      'the order to be confirmed',
    );
    const spans = await eventually(
      async () => {
        const spans = inTrace(traceId);
        const complete =
          throughGateway(spans) &&
          has(spans, 'order', SpanKinds.client, /^INSERT /) &&
          has(spans, 'order', SpanKinds.producer, /^create OrderPlaced$/) &&
          has(spans, 'product', SpanKinds.consumer, /^process .*order-events$/) &&
          has(spans, 'product', SpanKinds.client, /^UPDATE /) &&
          has(spans, 'product', SpanKinds.producer, /^create StockReserved$/) &&
          has(spans, 'order', SpanKinds.consumer, /^process .*product-events$/) &&
          has(spans, 'order', SpanKinds.producer, /^create OrderConfirmed$/);
        return complete ? spans : undefined;
      },
      30_000,
      'the spans of the whole order to reach the collector',
    );
    expectConnected(spans, clientSpan);
    const lines = expectEverythingInTrace(correlationId, traceId);
    expect(new Set(lines.map((line) => line.role)), 'log lines in every process').to.have.keys(ROLES);
  });

  it('follows a sync order through the gateway, the order service and its direct call to the product service', async () => {
    const productId = await product(5);
    const { answer, traceId, clientSpan, correlationId } = await traced('/api/v1/orders', {
      items: [{ productId, quantity: 1 }],
    });
    expect(answer.status).to.equal(201);
    expect(answer.body.status).to.equal('CONFIRMED');
    const spans = await eventually(
      async () => {
        const spans = inTrace(traceId);
        const complete =
          throughGateway(spans) &&
          has(spans, 'order', SpanKinds.client, /^POST reserve$/) &&
          has(spans, 'product', SpanKinds.server, /^POST \/internal\/v1\/reservations$/) &&
          has(spans, 'product', SpanKinds.client, /^UPDATE /);
        return complete ? spans : undefined;
      },
      30_000,
      'the spans of the sync order to reach the collector',
    );
    expectConnected(spans, clientSpan);
    expectEverythingInTrace(correlationId, traceId);
  });
});
