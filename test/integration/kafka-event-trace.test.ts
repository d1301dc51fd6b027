/**
 * Issue 11 on a broker: the `traceparent` header of an event's message is the one the event was made with
 * (a span of the HTTP request that made it), and the consumer handles it in that trace, with its ids on
 * every log line.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { requestScope } from '../../src/adapters/logging/request-scope.ts';
import { KafkaEventBus } from '../../src/adapters/messaging/kafka/kafka-event-bus.ts';
import { HEADERS, headerText } from '../../src/adapters/messaging/kafka/kafka-messages.ts';
import { ensureTopics } from '../../src/adapters/messaging/kafka/kafka-topics.ts';
import { NamespacedEventBus } from '../../src/adapters/messaging/namespaced-event-bus.ts';
import { newId } from '../../src/shared/id.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';
import { makeEvent } from '../../src/shared/messaging/make-event.ts';
import { deleteNamespace, fastConsumers, fastRetries, readTopic } from '../support/kafka.ts';
import { capturingLogger, traceIdOf } from '../support/log-capture.ts';
import { integrationServices } from '../support/services.ts';

const waitFor = async (condition: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('KafkaEventBus: traces and logs through the event path', function () {
  this.timeout(60_000);
  const namespace = `trace-${randomUUID()}.`;
  const topic = 'events';
  const group = 'tracer';
  const traceId = randomUUID().replaceAll('-', '');
  const requestTraceparent = `00-${traceId}-00f067aa0ba902b7-01`;
  let brokers: string[];

  before(async () => {
    brokers = (await integrationServices()).kafkaBrokers;
    await ensureTopics(brokers, silentLogger, { topics: [topic], namespace, partitions: 6, replicationFactor: 1 });
  });
  after(() => deleteNamespace(brokers, namespace));

  it("carries the request's trace in the header, and the consumer logs under it with the event's ids", async () => {
    const { logger, lines } = capturingLogger();
    const bus = new NamespacedEventBus(
      new KafkaEventBus({ brokers, clientId: 'kafka-trace-test', logger, retry: fastRetries, consumer: fastConsumers }),
      namespace,
    );
    const received: EventEnvelope[] = [];
    bus.subscribe({
      topic,
      group,
      handler: async (event) => {
        received.push(event);
        logger.info('handling', { n: received.length });
      },
    });
    try {
      await bus.start();
      const correlationId = newId();
      const event = requestScope.run({ requestId: correlationId, correlationId, traceparent: requestTraceparent }, () =>
        makeEvent('test', { now: () => new Date() }, correlationId, {
          type: 'Tested',
          aggregateId: newId(),
          payload: {},
        }),
      );
      expect(traceIdOf(event.traceparent)).to.equal(traceId);
      await bus.publish(topic, [event]);

      const [message] = (await readTopic(brokers, namespace + topic)).filter(
        (m) => headerText(m.headers, HEADERS.id) === event.id,
      );
      expect(headerText(message!.headers, HEADERS.traceparent), 'the header is the event’s').to.equal(
        event.traceparent,
      );
      expect(JSON.parse(message!.value!.toString())).to.not.have.property('traceparent');

      await waitFor(() => lines.some((l) => l.message === 'handling'));
      const line = lines.find((l) => l.message === 'handling')!;
      expect(line).to.include({
        eventId: event.id,
        correlationId,
        topic: namespace + topic,
        group: namespace + group,
      });
      expect(traceIdOf(line.traceparent)).to.equal(traceId);
      expect(received[0]).to.not.have.property('traceparent');
    } finally {
      await bus.stop();
    }
  });
});
