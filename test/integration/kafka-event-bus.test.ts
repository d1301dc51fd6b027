import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { KafkaEventBus } from '../../src/adapters/messaging/kafka/kafka-event-bus.ts';
import { NamespacedEventBus } from '../../src/adapters/messaging/namespaced-event-bus.ts';
import { HEADERS, headerText } from '../../src/adapters/messaging/kafka/kafka-messages.ts';
import { ensureTopics } from '../../src/adapters/messaging/kafka/kafka-topics.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { deadLetterTopic, type EventBus } from '../../src/shared/messaging/event-bus.port.ts';
import type { EventEnvelope } from '../../src/shared/messaging/event-envelope.ts';
import { newId } from '../../src/shared/id.ts';
import { envelope } from '../contract/event-bus.contract.ts';
import { deleteNamespace, fastConsumers, fastRetries, readTopic, testKafka } from '../support/kafka.ts';
import { integrationServices } from '../support/services.ts';

const waitFor = async (condition: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

describe('KafkaEventBus on a broker', function () {
  this.timeout(60_000);
  // Topics and groups of this run live under their own namespace on the broker.
  const namespace = `bus-${randomUUID()}.`;
  const topic = 'events';
  const onBroker = namespace + topic;
  const dlqOnBroker = namespace + deadLetterTopic(topic);
  let brokers: string[];
  let bus: EventBus;
  const newBus = () =>
    new NamespacedEventBus(
      new KafkaEventBus({
        brokers,
        clientId: 'kafka-bus-test',
        logger: silentLogger,
        retry: fastRetries,
        consumer: fastConsumers,
      }),
      namespace,
    );

  before(async () => {
    brokers = (await integrationServices()).kafkaBrokers;
    await ensureTopics(brokers, silentLogger, { topics: [topic], namespace, partitions: 6, replicationFactor: 1 });
  });
  beforeEach(() => {
    bus = newBus();
  });
  afterEach(() => bus.stop());
  after(() => deleteNamespace(brokers, namespace));

  it('writes key = aggregate id, the envelope as JSON, and id, type and traceparent headers', async () => {
    const aggregate = newId();
    const events = [envelope(aggregate, 'First', { n: 1 }), envelope(aggregate, 'Second', { n: 2 })];
    await bus.publish(topic, events);

    const messages = (await readTopic(brokers, onBroker)).filter((m) => m.key?.toString() === aggregate);
    expect(messages.map((m) => JSON.parse(m.value!.toString()))).to.deep.equal(events);
    expect(new Set(messages.map((m) => m.partition)).size, 'one aggregate, one partition').to.equal(1);
    messages.forEach((message, i) => {
      const event = events[i]!;
      expect(headerText(message.headers, HEADERS.id)).to.equal(event.id);
      expect(headerText(message.headers, HEADERS.type)).to.equal(event.type);
      const traceparent = headerText(message.headers, HEADERS.traceparent)!;
      expect(traceparent).to.match(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(traceparent.split('-')[1], 'trace id from the correlation id').to.equal(
        event.correlationId.replaceAll('-', ''),
      );
    });
  });

  it('delivers an envelope published twice twice (at least once; consumers deduplicate), while healthy', async () => {
    const seen: string[] = [];
    bus.subscribe({ topic, group: 'twice', handler: async (e) => void seen.push(e.id) });
    await bus.start();
    expect(bus.problem()).to.equal(null);
    const event = envelope(newId());
    await bus.publish(topic, [event]);
    await bus.publish(topic, [event]);
    await waitFor(() => seen.filter((id) => id === event.id).length >= 2);
    expect(seen.filter((id) => id === event.id)).to.have.length(2);
    expect(bus.problem()).to.equal(null);
  });

  it('parks an unreadable message at once and a failing event after its attempts, with where and why', async () => {
    const owner = 'parking';
    const aggregate = newId();
    const failing = envelope(aggregate, 'Failing');
    const fine = envelope(aggregate, 'Fine');
    const attempts: Record<string, number> = {};
    bus.subscribe({
      topic,
      group: owner,
      handler: async (e) => {
        attempts[e.id] = (attempts[e.id] ?? 0) + 1;
        if (e.type === 'Failing') throw new Error('cannot handle this');
      },
    });
    await bus.start();
    const raw = testKafka(brokers).producer();
    await raw.connect();
    await raw.send({
      topic: onBroker,
      messages: [{ key: aggregate, value: 'not json {', headers: { origin: 'test' } }],
    });
    await raw.disconnect();
    await bus.publish(topic, [failing, fine]);
    await waitFor(() => attempts[fine.id] === 1);

    const parked = (await readTopic(brokers, dlqOnBroker)).filter(
      (m) => headerText(m.headers, HEADERS.deadLetterGroup) === namespace + owner,
    );
    expect(parked).to.have.length(2);
    const [unreadable, failed] = parked;
    expect(unreadable!.value!.toString()).to.equal('not json {');
    expect(unreadable!.key!.toString()).to.equal(aggregate);
    expect(headerText(unreadable!.headers, 'origin')).to.equal('test');
    expect(headerText(unreadable!.headers, HEADERS.deadLetterAttempts)).to.equal('0');
    expect(headerText(unreadable!.headers, HEADERS.deadLetterError)).to.match(/invalid envelope: not JSON/);
    expect(headerText(unreadable!.headers, HEADERS.originalTopic)).to.equal(onBroker);

    expect(JSON.parse(failed!.value!.toString())).to.deep.equal(failing);
    expect(failed!.key!.toString()).to.equal(aggregate);
    expect(headerText(failed!.headers, HEADERS.id)).to.equal(failing.id);
    expect(headerText(failed!.headers, HEADERS.deadLetterAttempts)).to.equal(String(fastRetries.maxAttempts));
    expect(headerText(failed!.headers, HEADERS.deadLetterError)).to.equal('Error: cannot handle this');
    expect(attempts[failing.id]).to.equal(fastRetries.maxAttempts);
    const partition = Number(headerText(failed!.headers, HEADERS.originalPartition));
    const offset = headerText(failed!.headers, HEADERS.originalOffset)!;
    const original = (await readTopic(brokers, onBroker)).find((m) => m.partition === partition && m.offset === offset);
    expect(headerText(original?.headers, HEADERS.id)).to.equal(failing.id);
  });

  it('commits what it handled: a restarted group resumes after the last handled event', async () => {
    const resumed = 'resume';
    const first: EventEnvelope[] = [];
    bus.subscribe({ topic, group: resumed, handler: async (e) => void first.push(e) });
    await bus.start();
    const before = envelope(newId(), 'Before');
    await bus.publish(topic, [before]);
    await waitFor(() => first.some((e) => e.id === before.id));
    await bus.stop();

    const after = envelope(newId(), 'After');
    const second: EventEnvelope[] = [];
    bus = newBus();
    bus.subscribe({ topic, group: resumed, handler: async (e) => void second.push(e) });
    await bus.publish(topic, [after]);
    await bus.start();
    await waitFor(() => second.some((e) => e.id === after.id));
    // The group also reads what earlier tests left on the topic, and the first run may have stopped before
    // reaching all of it (other partitions): what matters is that the handled event did not come back.
    const ours = new Set([before.id, after.id]);
    expect(second.map((e) => e.id).filter((id) => ours.has(id))).to.deep.equal([after.id]);
  });

  it('stops cleanly: once, idempotently, closing every connection it opened', async () => {
    const open = sockets();
    const seen: string[] = [];
    bus.subscribe({ topic, group: 'stopping', handler: async (e) => void seen.push(e.id) });
    await bus.start();
    const event = envelope(newId());
    await bus.publish(topic, [event]);
    await waitFor(() => seen.includes(event.id));
    expect(sockets()).to.be.greaterThan(open);

    await Promise.all([bus.stop(), bus.stop()]);
    await bus.stop();
    expect(bus.problem()).to.equal('kafka event bus stopped');
    await expectRejection(bus.publish(topic, [envelope(newId())]), /stopped/);
    await expectRejection(bus.start(), /cannot start again/);
    await waitFor(() => sockets() <= open, 2_000);
  });
});

describe('ensureTopics', function () {
  this.timeout(30_000);

  it('creates what is missing, verifies what exists, and reports a topic short of partitions without altering it', async () => {
    const brokers = (await integrationServices()).kafkaBrokers;
    const fresh = `topics-${randomUUID()}`;
    const short = `topics-${randomUUID()}`;
    const admin = testKafka(brokers).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: short, numPartitions: 2 }] });
      const options = { topics: [fresh, short], partitions: 6, replicationFactor: 1 };

      const first = await ensureTopics(brokers, silentLogger, options);
      expect(first.created).to.have.members([fresh, `${fresh}.dlq`, `${short}.dlq`]);
      expect(first.verified).to.deep.equal([]);
      expect(first.errors).to.deep.equal([`${short} has 2 partitions, needs at least 6`]);

      const again = await ensureTopics(brokers, silentLogger, options);
      expect(again.created).to.deep.equal([]);
      expect(again.verified).to.have.members([fresh, `${fresh}.dlq`, `${short}.dlq`]);
      expect(again.errors).to.have.length(1);

      const { topics } = await admin.fetchTopicMetadata({ topics: [short, fresh] });
      expect(topics.find((t) => t.name === short)!.partitions).to.have.length(2);
      expect(topics.find((t) => t.name === fresh)!.partitions).to.have.length(6);
    } finally {
      await admin.deleteTopics({ topics: [fresh, `${fresh}.dlq`, short, `${short}.dlq`] }).catch(() => {});
      await admin.disconnect();
    }
  });
});

async function expectRejection(promise: Promise<unknown>, message: RegExp) {
  try {
    await promise;
  } catch (error) {
    expect(String(error)).to.match(message);
    return;
  }
  expect.fail('expected a rejection');
}
