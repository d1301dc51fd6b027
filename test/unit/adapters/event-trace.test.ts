/**
 * Issue 11: the trace of the request that made an event travels with it (in the envelope's `traceparent`,
 * kept in the outbox row; on Kafka as the header), and a consumer handles each event in a scope of its own,
 * so every log line it writes carries the event id, the correlation id, the topic, the group and the trace.
 */
import { expect } from 'chai';
import { requestScope } from '../../../src/adapters/logging/request-scope.ts';
import { InProcessEventBus } from '../../../src/adapters/messaging/in-process/in-process-event-bus.ts';
import { HEADERS, toKafkaMessage } from '../../../src/adapters/messaging/kafka/kafka-messages.ts';
import { currentTraceparent } from '../../../src/adapters/tracing/traceparent.ts';
import { newId } from '../../../src/shared/id.ts';
import type { EventEnvelope } from '../../../src/shared/messaging/event-envelope.ts';
import { makeEvent } from '../../../src/shared/messaging/make-event.ts';
import type { Clock } from '../../../src/shared/clock.ts';
import { capturingLogger, spanIdOf, traceIdOf } from '../../support/log-capture.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const REQUEST_TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const clock: Clock = { now: () => new Date('2026-01-01T00:00:00Z') };
const draft = { type: 'Tested', aggregateId: 'aggregate-1', payload: { n: 1 } };

/** The envelope as the contract has it: without the trace it carries. */
const contractEnvelope = ({ traceparent: _, ...envelope }: EventEnvelope) => envelope;

/** An event made as a use case makes it while an HTTP request is handled (the edge's scope). */
const madeInRequest = (correlationId = newId()) =>
  requestScope.run({ requestId: correlationId, correlationId, traceparent: REQUEST_TRACEPARENT }, () =>
    makeEvent('test', clock, correlationId, draft),
  );

describe('event trace: made in a request', () => {
  it('an event made in a request scope carries a child span of the request', () => {
    const event = madeInRequest();
    expect(traceIdOf(event.traceparent)).to.equal(TRACE_ID);
    expect(spanIdOf(event.traceparent))
      .to.match(/^[0-9a-f]{16}$/)
      .and.not.equal('00f067aa0ba902b7');
    expect(event.traceparent).to.match(/-01$/);
  });

  it('an event made outside any trace carries none (the envelope is the contract one)', () => {
    const event = makeEvent('test', clock, 'corr', draft);
    expect(event).to.not.have.property('traceparent');
  });

  it('on Kafka the traceparent is a header, the value the envelope without it', () => {
    const event = madeInRequest();
    const message = toKafkaMessage(event);
    expect(message.headers![HEADERS.traceparent]).to.equal(event.traceparent);
    const value = JSON.parse(String(message.value)) as Record<string, unknown>;
    expect(value).to.not.have.property('traceparent');
    expect(value).to.deep.equal(contractEnvelope(event));
  });

  it('an event without one (or with a malformed one) gets the trace derived from its correlation id', () => {
    const correlationId = newId();
    const old = { ...makeEvent('test', clock, correlationId, draft), traceparent: 'garbage' };
    const header = toKafkaMessage(old).headers![HEADERS.traceparent];
    expect(traceIdOf(header)).to.equal(correlationId.replaceAll('-', ''));
  });
});

describe('event trace: consumed in process', () => {
  const topic = 'product-events';
  const group = 'order-service';

  it('every line the handler logs carries the event id, correlation id, topic, group and its trace', async () => {
    const { logger, lines } = capturingLogger();
    const bus = new InProcessEventBus(logger, { retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } });
    const received: EventEnvelope[] = [];
    let attempts = 0;
    let handlerTrace: string | undefined;
    bus.subscribe({
      topic,
      group,
      handler: async (event) => {
        received.push(event);
        handlerTrace = currentTraceparent();
        logger.info('handling', { attempt: ++attempts });
        if (attempts === 1) throw new Error('once');
      },
    });
    await bus.start();
    const event = madeInRequest();
    // Published from another request's scope (as the relay, nudged after a commit, may be): it must not leak in.
    await requestScope.run({ requestId: 'publisher', correlationId: 'publisher', traceparent: childOf() }, () =>
      bus.publish(topic, [event]),
    );
    await bus.stop();

    const scoped = lines.filter((l) => l.message === 'handling' || l.message === 'event handler failed; will retry');
    expect(scoped).to.have.length(3);
    for (const line of scoped) {
      expect(line).to.include({ eventId: event.id, correlationId: event.correlationId, topic, group });
      expect(traceIdOf(line.traceparent)).to.equal(TRACE_ID);
      expect(line.traceparent, 'a span of its own').to.not.equal(event.traceparent);
      expect(line).to.not.have.property('requestId');
    }
    const retry = scoped.find((l) => l.message === 'event handler failed; will retry')!;
    expect(retry, 'a failure is logged with a stable code').to.include({ level: 'warn', code: 'EVENT_HANDLER_FAILED' });
    expect(handlerTrace, 'calls and events the handler makes continue the trace').to.equal(scoped[0]!.traceparent);
    expect(received[0], 'handlers get the contract envelope').to.not.have.property('traceparent');
    expect(received[0]).to.deep.equal(contractEnvelope(event));
  });

  it('an event that carries no trace is handled in the one derived from its correlation id', async () => {
    const { logger, lines } = capturingLogger();
    const bus = new InProcessEventBus(logger);
    bus.subscribe({ topic, group, handler: async () => logger.info('handling') });
    await bus.start();
    const correlationId = newId();
    const event = makeEvent('test', clock, correlationId, draft);
    await bus.publish(topic, [event]);
    await bus.stop();
    const line = lines.find((l) => l.message === 'handling')!;
    expect(line).to.include({ eventId: event.id, correlationId, topic, group });
    expect(traceIdOf(line.traceparent)).to.equal(correlationId.replaceAll('-', ''));
  });
});

const childOf = () => `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
